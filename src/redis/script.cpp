// SHA1 of a Lua script with OpenSSL, in the lowercase hex form Redis uses; a script's function
// form.
#include "llmgw/redis/script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace llmgw::redis {

Script::Script(std::string source) : source_(std::move(source)) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(source_.data(), source_.size(), digest, &length, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("redis::Script: SHA1 failed");
    static constexpr char kHex[] = "0123456789abcdef";
    sha1_.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        sha1_ += kHex[digest[i] >> 4];
        sha1_ += kHex[digest[i] & 0x0f];
    }
}

Script Script::with_function(std::string_view name, const std::string& code, std::string_view entry) {
    Script script(code + "\nreturn " + std::string(entry) + "(KEYS, ARGV)\n");
    script.function_ = "llmgw_" + std::string(name) + "_" + script.sha1_.substr(0, 16);
    script.library_ = "#!lua name=" + script.function_ + "\n" + code + "\nredis.register_function('" +
                      script.function_ + "', " + std::string(entry) + ")\n";
    return script;
}

}  // namespace llmgw::redis
