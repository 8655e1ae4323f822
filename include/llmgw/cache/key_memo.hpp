// A worker's memo of finished cache keys, found by the request's raw key material: the same
// route, method, target, consumer, streamed flag and body bytes always make the same key, so
// a request seen before skips the body's parse, its canonical form and the SHA-256.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "llmgw/cache/cache_key.hpp"

namespace llmgw::cache {

class KeyMemo {
public:
    struct Bounds {
        std::size_t max_entries = 1024;
        std::size_t max_body_bytes = 16 * 1024;  // larger bodies are keyed afresh every time
        std::size_t max_bytes = 2 * 1024 * 1024;  // raw material and keys together
    };

    KeyMemo() : KeyMemo(Bounds{}) {}
    explicit KeyMemo(Bounds bounds) : bounds_(bounds) {}

    // cache_key(parts) with `parts.body` set to `parse_body()` (the body's JSON tree, or null),
    // called only when these raw parts are not in the memo. The tree must be the body text's
    // (parsed from it, or the text written from it): the key is looked up by the text.
    template <typename ParseBody>
    std::string key(KeyParts parts, ParseBody&& parse_body) {
        if (const auto* known = find(parts)) return *known;
        parts.body = parse_body();
        auto key = cache_key(parts);
        remember(key);
        return key;
    }

    std::size_t entries() const { return keys_.size(); }
    std::size_t bytes() const { return bytes_; }

private:
    // The key of `parts` when known; else null, with the raw material kept for remember().
    const std::string* find(const KeyParts& parts);
    void remember(const std::string& key);

    Bounds bounds_;
    std::string material_;  // the last find's, reused (no allocation once grown)
    bool memorable_ = false;  // whether the last find's material may be kept
    std::unordered_map<std::string, std::string> keys_;
    std::size_t bytes_ = 0;
};

}  // namespace llmgw::cache
