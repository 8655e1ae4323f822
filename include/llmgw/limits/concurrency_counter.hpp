// The in-process count of each consumer's requests in flight, shared by every worker of one
// instance: tier max_concurrent without Redis, and while Redis is unavailable (fail open).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "llmgw/limits/concurrency_slot.hpp"

namespace llmgw::limits {

// Sharded by consumer, each shard a mutex and a map; a consumer whose count returns to 0 is
// forgotten at once, so memory follows the requests in flight, never the consumers seen.
// Held in a shared_ptr (make()): the slots it hands out refer to it weakly.
class ConcurrencyCounter final : public SlotKeeper,
                                 public std::enable_shared_from_this<ConcurrencyCounter> {
public:
    static std::shared_ptr<ConcurrencyCounter> make();
    ~ConcurrencyCounter();
    ConcurrencyCounter(const ConcurrencyCounter&) = delete;
    ConcurrencyCounter& operator=(const ConcurrencyCounter&) = delete;

    // A held slot when fewer than `cap` of the consumer's requests are in flight (cap 0:
    // unlimited, always held); an empty one, taking nothing, when the cap is reached.
    ConcurrencySlot try_acquire(const std::string& consumer, unsigned cap);
    // The consumer's requests in flight now, and the consumers with any (tests, metrics).
    unsigned in_flight(const std::string& consumer) const;
    std::size_t consumers() const;

    void give_back(const std::string& consumer, std::uint64_t ticket) noexcept override;

private:
    ConcurrencyCounter();
    struct Shard;
    Shard& shard_of(const std::string& consumer) const;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace llmgw::limits
