// A Lua script for Client::eval: its source and the SHA1 that EVALSHA names it by, and perhaps
// the same code as a Redis Function (FCALL, Redis >= 7).
#pragma once

#include <string>
#include <string_view>

namespace llmgw::redis {

class Script {
public:
    // Computes the SHA1 once, here (scripts are built at startup, not per request).
    explicit Script(std::string source);
    // A script that is also a Redis Function. `code` defines a local function `entry` that takes
    // (KEYS, ARGV) and returns the answer: as a script, `code` then `return entry(KEYS, ARGV)`
    // (what EVAL runs on every call); as a library, `code` once, at FUNCTION LOAD, registering
    // `entry` as function llmgw_<name>_<16 hex digits of the script's SHA1>, which names the
    // library too: another version of the code is another library, so gateways of two versions
    // (an upgrade under way) each call their own. The code must not touch a global before the
    // first call: a library's code runs where only `redis` exists.
    static Script with_function(std::string_view name, const std::string& code, std::string_view entry);

    const std::string& source() const { return source_; }
    const std::string& sha1() const { return sha1_; }  // 40 lowercase hex digits
    // Empty for a script without a function form.
    const std::string& function() const { return function_; }
    const std::string& library() const { return library_; }  // FUNCTION LOAD's argument

private:
    std::string source_;
    std::string sha1_;
    std::string function_, library_;
};

}  // namespace llmgw::redis
