// One worker's concurrency leases in Redis (tier max_concurrent across instances): the members
// it holds for requests in flight, which it renews, and gives back when a request ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "llmgw/limits/concurrency_slot.hpp"

namespace llmgw::limits {

// A lease lasts `duration` unless renewed; the worker renews all of its leases every
// `renew_every`, so a lease outlives a request only when its instance died (or could not reach
// Redis for a whole lease): then it expires and the slot comes back by itself.
// Use from the worker's thread only; held in a shared_ptr (the slots refer to it weakly).
class RedisLeases final : public SlotKeeper, public std::enable_shared_from_this<RedisLeases> {
public:
    static constexpr std::chrono::milliseconds duration{15'000};
    static constexpr std::chrono::milliseconds renew_every{5'000};

    struct Lease {
        std::string key;     // the consumer's lease set
        std::string member;  // "<worker id>:<sequence>", unique across instances
    };
    // `given_back`: told (on this thread) of each lease a slot gives back, to release in Redis.
    explicit RedisLeases(std::function<void(const Lease&)> given_back);

    // The member the next lease is asked under; a lease refused or never confirmed by Redis
    // is simply never held.
    std::string next_member();
    // The slot of a lease Redis granted under `member`.
    ConcurrencySlot hold(const std::string& consumer, std::string key, std::string member);

    bool empty() const { return held_.empty(); }
    std::size_t size() const { return held_.size(); }
    // Calls `each` with every lease held now.
    void for_each(const std::function<void(const Lease&)>& each) const;

    void give_back(const std::string& consumer, std::uint64_t ticket) noexcept override;

private:
    std::function<void(const Lease&)> given_back_;
    std::string worker_id_;  // random: no two workers anywhere share it
    std::uint64_t sequence_ = 0;
    std::uint64_t next_ticket_ = 0;
    std::unordered_map<std::uint64_t, Lease> held_;
};

}  // namespace llmgw::limits
