// The in-process store of the response cache: shared by every worker, sharded so workers
// rarely wait on each other, bounded in bytes with least-recently-used eviction.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmgw/cache/cached_answer.hpp"

namespace llmgw::cache {

class MemoryStore {
public:
    using Entry = std::shared_ptr<const CachedAnswer>;

    // Each shard holds max_bytes / shards; fewer shards when entries may be large, so one
    // large entry never fills a shard alone.
    MemoryStore(std::uint64_t max_bytes, std::uint64_t max_entry_bytes);

    // The fresh entry under `key` (now the most recently used), or null. Expired entries are
    // dropped when found.
    Entry find(const std::string& key, Clock::time_point now);
    // Stores (or replaces) an entry; evicts the least recently used until it fits.
    // Returns false when the entry is larger than a shard can ever hold.
    bool insert(const std::string& key, Entry entry);
    // Removes every entry, or those of one route; returns how many.
    std::size_t purge(std::optional<std::string_view> route = std::nullopt);

    std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
    std::uint64_t entries() const { return entries_.load(std::memory_order_relaxed); }
    std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
    std::uint64_t max_bytes() const { return shard_bytes_ * shards_.size(); }

private:
    struct Shard {
        std::mutex mutex;
        // Most recently used first.
        std::list<std::pair<std::string, Entry>> order;
        std::unordered_map<std::string_view, std::list<std::pair<std::string, Entry>>::iterator>
            index;
        std::uint64_t bytes = 0;
    };
    Shard& shard_for(const std::string& key);
    // Caller holds the shard's mutex.
    void erase(Shard& shard, std::list<std::pair<std::string, Entry>>::iterator it);

    std::vector<std::unique_ptr<Shard>> shards_;
    std::uint64_t shard_bytes_;
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> entries_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace llmgw::cache
