// A backend's queue: requests that found every endpoint at capacity wait here, shared by all
// workers, in the order FairQueue gives; a slot freed on any worker wakes the next one at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/hang_up.hpp"
#include "llmgw/upstream/fair_queue.hpp"

namespace llmgw::upstream {

class BackendQueue {
public:
    using clock = std::chrono::steady_clock;
    // How many more requests the backend could start now (free slots on endpoints that may
    // be chosen, within the backend's own limit); read when deciding whom to wake.
    using FreeSlots = std::function<std::size_t()>;

    BackendQueue(const config::QueueConfig& config, FreeSlots free_slots);
    ~BackendQueue();
    BackendQueue(const BackendQueue&) = delete;
    BackendQueue& operator=(const BackendQueue&) = delete;

    // Whether a new request must get in line rather than take a free slot: someone waits, or
    // was woken and is on its way to the slot. No lock: one atomic read.
    bool busy() const { return busy_.load(std::memory_order_acquire) > 0; }

    enum class Outcome { served, full, timeout, left };
    struct Result {
        Outcome outcome = Outcome::served;
        clock::duration waited{};
    };
    // Waits in line until `take` (called on this worker when the request's turn comes) gets
    // the request a slot; `take` returning false puts it back first in line. Gives up after
    // the queue's timeout, at once when max_waiting wait already, or when the client leaves.
    http::Task<Result> wait(const FairQueue::Place& place, http::HangUp& hang_up,
                            const std::function<bool()>& take);

    // A slot was freed (any thread): wakes as many waiters as there are free slots.
    void slot_freed() {
        if (busy()) dispatch();
    }

    // Seconds a client should wait before trying again: the queue's length over the rate
    // it drained at lately (the timeout when nothing drained yet), at least 1.
    int retry_after_seconds() const;
    // Requests waiting, by tier priority (the metrics sample it); a priority that had some
    // stays, at 0, so its gauge goes back down.
    std::map<unsigned, std::size_t> depths() const;

    struct Waiter;

private:
    void dispatch();
    bool enter(const std::shared_ptr<Waiter>& waiter, const FairQueue::Place& place);
    // After the wait: whether the waiter's turn came (it was popped), else it leaves the line.
    bool turn_came(Waiter& waiter);
    void put_back(const std::shared_ptr<Waiter>& waiter);
    void note_served(clock::time_point now);

    const config::QueueConfig& config_;
    FreeSlots free_slots_;
    mutable std::mutex mutex_;
    FairQueue order_;
    std::map<FairQueue::Id, std::shared_ptr<Waiter>> waiters_;
    std::map<unsigned, std::size_t> depths_;
    std::size_t in_transit_ = 0;  // woken, not yet at their slot
    std::atomic<std::size_t> busy_{0};  // waiting + in transit
    // The drain rate: an average of the time between turns, for Retry-After.
    clock::time_point last_turn_{};
    double seconds_per_turn_ = 0;
};

}  // namespace llmgw::upstream
