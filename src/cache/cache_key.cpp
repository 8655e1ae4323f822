// Cache keys: a SHA-256 over the parts that decide the answer, in a fixed framing.
#include "llmgw/cache/cache_key.hpp"

#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

namespace llmgw::cache {

void append_key_part(std::string& out, std::string_view part) {
    char length[24];
    const auto* end = std::to_chars(length, length + sizeof length, part.size()).ptr;
    out.append(length, static_cast<std::size_t>(end - length));
    out += ':';
    out += part;
}

std::string cache_key(const KeyParts& parts) {
    std::string material;
    material.reserve(parts.raw_body.size() + parts.target.size() + 64);
    append_key_part(material, parts.route);
    append_key_part(material, parts.method);
    append_key_part(material, parts.target);
    append_key_part(material, parts.consumer);
    append_key_part(material, parts.streamed ? "stream" : "whole");
    if (parts.body != nullptr) {
        // nlohmann::json keeps object members sorted by name: dump() is canonical.
        append_key_part(material, "json");
        append_key_part(material,
                    parts.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
        append_key_part(material, "raw");
        append_key_part(material, parts.raw_body);
    }
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(),
           digest.data());
    static constexpr char hex[] = "0123456789abcdef";
    std::string key(parts.route);
    key += ':';
    for (const auto byte : digest) {
        key += hex[byte >> 4];
        key += hex[byte & 0xf];
    }
    return key;
}

std::string_view route_of(std::string_view key) {
    // The digest is fixed-size hex: the route is everything before the last colon.
    const auto colon = key.rfind(':');
    return colon == std::string_view::npos ? key : key.substr(0, colon);
}

}  // namespace llmgw::cache
