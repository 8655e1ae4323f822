// The per-endpoint LRU of prompt blocks and the longest-prefix lookup.
#include "llmgw/upstream/prefix_index.hpp"

namespace llmgw::upstream {

PrefixIndex::PrefixIndex(std::size_t endpoints, std::size_t capacity)
    : endpoints_(endpoints), capacity_(capacity == 0 ? 1 : capacity) {}

void PrefixIndex::match(std::span<const std::uint64_t> blocks,
                        std::vector<std::size_t>& counts) const {
    counts.assign(endpoints_.size(), 0);
    const std::lock_guard lock(mutex_);
    for (std::size_t e = 0; e < endpoints_.size(); ++e) {
        const auto& where = endpoints_[e].where;
        std::size_t n = 0;
        while (n < blocks.size() && where.contains(blocks[n])) ++n;
        counts[e] = n;
    }
}

void PrefixIndex::record(std::size_t endpoint, std::span<const std::uint64_t> blocks) {
    if (endpoint >= endpoints_.size() || blocks.empty()) return;
    const std::lock_guard lock(mutex_);
    auto& lru = endpoints_[endpoint];
    // Last block first, so the first block ends up the most recent: eviction then takes a
    // prefix's tail before its head, as the engine frees blocks from the leaves.
    for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
        if (const auto found = lru.where.find(*block); found != lru.where.end()) {
            lru.order.splice(lru.order.begin(), lru.order, found->second);
            continue;
        }
        lru.order.push_front(*block);
        lru.where.emplace(*block, lru.order.begin());
        if (lru.order.size() > capacity_) {
            lru.where.erase(lru.order.back());
            lru.order.pop_back();
        }
    }
}

}  // namespace llmgw::upstream
