// OpenSSL's error queue as one readable reason.
#pragma once

#include <openssl/err.h>

#include <fstream>
#include <string>

namespace llmgw::tls {

// The most recent reason on this thread's OpenSSL error queue (then cleared).
inline std::string take_openssl_error(const char* fallback) {
    unsigned long code = 0;
    unsigned long last = 0;
    while ((code = ERR_get_error()) != 0) last = code;
    const char* reason = last != 0 ? ERR_reason_error_string(last) : nullptr;
    return reason != nullptr ? reason : fallback;
}

// A clear message for a file that is missing or unreadable, before OpenSSL's terser one.
inline bool readable(const std::string& path) {
    std::ifstream file(path);
    return file.good();
}

}  // namespace llmgw::tls
