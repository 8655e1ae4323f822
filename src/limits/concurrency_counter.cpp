// ConcurrencyCounter: per-consumer counts behind one small mutex per shard.
#include "llmgw/limits/concurrency_counter.hpp"

#include <functional>
#include <mutex>
#include <unordered_map>

namespace llmgw::limits {

namespace {
constexpr std::size_t shard_count = 64;
}  // namespace

struct ConcurrencyCounter::Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, unsigned> in_flight;  // only consumers with requests
};

ConcurrencyCounter::ConcurrencyCounter() {
    shards_.reserve(shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

ConcurrencyCounter::~ConcurrencyCounter() = default;

std::shared_ptr<ConcurrencyCounter> ConcurrencyCounter::make() {
    return std::shared_ptr<ConcurrencyCounter>(new ConcurrencyCounter());
}

ConcurrencyCounter::Shard& ConcurrencyCounter::shard_of(const std::string& consumer) const {
    return *shards_[std::hash<std::string>{}(consumer) % shards_.size()];
}

ConcurrencySlot ConcurrencyCounter::try_acquire(const std::string& consumer, unsigned cap) {
    auto& shard = shard_of(consumer);
    {
        const std::lock_guard lock(shard.mutex);
        const auto it = shard.in_flight.try_emplace(consumer, 0).first;
        if (cap != 0 && it->second >= cap) return {};  // at the cap: nothing taken
        ++it->second;
    }
    return ConcurrencySlot(weak_from_this(), consumer, 0);
}

void ConcurrencyCounter::give_back(const std::string& consumer, std::uint64_t) noexcept {
    auto& shard = shard_of(consumer);
    const std::lock_guard lock(shard.mutex);
    const auto it = shard.in_flight.find(consumer);
    if (it == shard.in_flight.end()) return;
    if (--it->second == 0) shard.in_flight.erase(it);
}

unsigned ConcurrencyCounter::in_flight(const std::string& consumer) const {
    auto& shard = shard_of(consumer);
    const std::lock_guard lock(shard.mutex);
    const auto it = shard.in_flight.find(consumer);
    return it == shard.in_flight.end() ? 0 : it->second;
}

std::size_t ConcurrencyCounter::consumers() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
        const std::lock_guard lock(shard->mutex);
        total += shard->in_flight.size();
    }
    return total;
}

}  // namespace llmgw::limits
