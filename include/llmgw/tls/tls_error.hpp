// A TLS file that cannot be used: names the config key it came from and the file.
#pragma once

#include <stdexcept>
#include <string>

namespace llmgw::tls {

class TlsFileError : public std::runtime_error {
public:
    // `key` is the dotted config key (server.tls.cert_file); `detail` names the file and the
    // problem. what() is "key: detail".
    TlsFileError(std::string key, std::string detail)
        : std::runtime_error(key + ": " + detail),
          key_(std::move(key)),
          detail_(std::move(detail)) {}

    const std::string& key() const { return key_; }
    const std::string& detail() const { return detail_; }

private:
    std::string key_;
    std::string detail_;
};

}  // namespace llmgw::tls
