// A sharded LRU of cached answers bounded by bytes.
#include "llmgw/cache/memory_store.hpp"

#include <algorithm>
#include <functional>

#include "llmgw/cache/cache_key.hpp"

namespace llmgw::cache {

MemoryStore::MemoryStore(std::uint64_t max_bytes, std::uint64_t max_entry_bytes) {
    // Up to 16 shards, each able to hold at least four of the largest entries.
    const auto per_shard_floor = std::max<std::uint64_t>(max_entry_bytes, 1) * 4;
    const auto count = std::clamp<std::uint64_t>(max_bytes / per_shard_floor, 1, 16);
    shard_bytes_ = max_bytes / count;
    shards_.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

MemoryStore::Shard& MemoryStore::shard_for(const std::string& key) {
    return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

void MemoryStore::erase(Shard& shard, std::list<std::pair<std::string, Entry>>::iterator it) {
    const auto size = it->second->size();
    shard.index.erase(std::string_view(it->first));
    shard.order.erase(it);
    shard.bytes -= size;
    bytes_.fetch_sub(size, std::memory_order_relaxed);
    entries_.fetch_sub(1, std::memory_order_relaxed);
}

MemoryStore::Entry MemoryStore::find(const std::string& key, Clock::time_point now) {
    auto& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto found = shard.index.find(std::string_view(key));
    if (found == shard.index.end()) return nullptr;
    const auto it = found->second;
    if (it->second->expired(now)) {
        erase(shard, it);
        return nullptr;
    }
    shard.order.splice(shard.order.begin(), shard.order, it);
    return it->second;
}

bool MemoryStore::insert(const std::string& key, Entry entry) {
    const auto size = entry->size();
    if (size > shard_bytes_) return false;
    auto& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    if (const auto found = shard.index.find(std::string_view(key)); found != shard.index.end())
        erase(shard, found->second);
    while (shard.bytes + size > shard_bytes_ && !shard.order.empty()) {
        erase(shard, std::prev(shard.order.end()));
        evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.order.emplace_front(key, std::move(entry));
    shard.index.emplace(std::string_view(shard.order.front().first), shard.order.begin());
    shard.bytes += size;
    bytes_.fetch_add(size, std::memory_order_relaxed);
    entries_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

std::size_t MemoryStore::purge(std::optional<std::string_view> route) {
    std::size_t removed = 0;
    for (auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        for (auto it = shard->order.begin(); it != shard->order.end();) {
            const auto next = std::next(it);
            if (!route || route_of(it->first) == *route) {
                erase(*shard, it);
                ++removed;
            }
            it = next;
        }
    }
    return removed;
}

}  // namespace llmgw::cache
