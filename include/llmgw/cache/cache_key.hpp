// The key of a cached answer: what makes two requests "the same question".
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace llmgw::cache {

struct KeyParts {
    std::string_view route;
    std::string_view method;
    std::string_view target;     // as sent upstream (after rewrites), query included
    std::string_view consumer;   // empty for scope: global
    bool streamed = false;       // streamed and plain answers never share an entry
    const nlohmann::json* body = nullptr;  // the parsed JSON body, or null when not JSON
    std::string_view raw_body;   // used when `body` is null
};

// "<route>:<sha256 hex>". A JSON body counts in canonical form: key order and whitespace
// do not change the key, any other difference does.
std::string cache_key(const KeyParts& parts);

// Appends `part` length-prefixed ("<length>:<part>"), so no choice of parts runs into the
// next one: the framing of cache_key's material and of the key memo's.
void append_key_part(std::string& out, std::string_view part);

// The route a key belongs to (for purges).
std::string_view route_of(std::string_view key);

}  // namespace llmgw::cache
