// A Lua script for Client::eval: its source and the SHA1 that EVALSHA names it by.
#pragma once

#include <string>

namespace llmgw::redis {

class Script {
public:
    // Computes the SHA1 once, here (scripts are built at startup, not per request).
    explicit Script(std::string source);

    const std::string& source() const { return source_; }
    const std::string& sha1() const { return sha1_; }  // 40 lowercase hex digits

private:
    std::string source_;
    std::string sha1_;
};

}  // namespace llmgw::redis
