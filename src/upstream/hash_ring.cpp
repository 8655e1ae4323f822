// The ring of endpoint points, built once per backend state.
#include "llmgw/upstream/hash_ring.hpp"

#include <algorithm>
#include <string>

#include "llmgw/upstream/routing_hints.hpp"

namespace llmgw::upstream {

namespace {

// splitmix64's finalizer: FNV of near-identical names ("url#1", "url#2") clusters on the
// ring; mixing spreads the points.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

}  // namespace

HashRing::HashRing(const std::vector<config::Endpoint>& endpoints) : endpoints_(endpoints.size()) {
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const auto points = points_per_weight * endpoints[i].weight;
        for (unsigned p = 0; p < points; ++p)
            points_.emplace_back(mix(hash_text(endpoints[i].url + "#" + std::to_string(p))), i);
    }
    std::sort(points_.begin(), points_.end());
}

std::size_t HashRing::owner(std::uint64_t key,
                            const std::function<bool(std::size_t)>& usable) const {
    if (points_.empty()) return npos;
    auto at = std::lower_bound(points_.begin(), points_.end(), std::pair{mix(key), std::size_t{0}});
    std::vector<bool> seen(endpoints_, false);
    std::size_t distinct = 0;
    for (std::size_t step = 0; step < points_.size() && distinct < endpoints_; ++step, ++at) {
        if (at == points_.end()) at = points_.begin();
        const auto index = at->second;
        if (seen[index]) continue;
        seen[index] = true;
        ++distinct;
        if (usable(index)) return index;
    }
    return npos;
}

}  // namespace llmgw::upstream
