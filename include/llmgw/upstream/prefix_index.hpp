// Which prompt blocks the gateway sent to each endpoint lately: an LRU per endpoint, as the
// engine's own prefix cache, so the endpoint holding the longest run of a request's
// leading blocks can be found (the turns of one conversation follow their own history).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace llmgw::upstream {

class PrefixIndex {
public:
    // Blocks remembered per endpoint by default: 16384 blocks of 512 bytes are about 2M
    // tokens, the order of a large GPU's KV cache.
    static constexpr std::size_t default_capacity = 16384;

    PrefixIndex(std::size_t endpoints, std::size_t capacity = default_capacity);

    // How many of `blocks`' leading entries each endpoint holds, one count per endpoint.
    void match(std::span<const std::uint64_t> blocks, std::vector<std::size_t>& counts) const;
    // The request with `blocks` went to `endpoint`: its blocks become the most recent there.
    void record(std::size_t endpoint, std::span<const std::uint64_t> blocks);

private:
    struct Lru {
        std::list<std::uint64_t> order;  // most recent first
        std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
    };
    // Shared by every worker; held for a lookup of a few hundred hashes at most. Only a
    // backend with `affinity.by: prefix` has an index.
    mutable std::mutex mutex_;
    std::vector<Lru> endpoints_;
    std::size_t capacity_;
};

}  // namespace llmgw::upstream
