// Per-endpoint circuit breaker: consecutive failures open it, time half-opens it, probes close it.
// Shared by all workers; a small mutex guards it. A closed circuit with no failure counted
// (nearly every request) is read without the mutex: three locks a request showed in profiles.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "llmgw/config/config.hpp"

namespace llmgw::upstream {

class CircuitBreaker {
public:
    using clock = std::chrono::steady_clock;
    enum class State { closed = 0, half_open = 1, open = 2 };
    // Up to this multiple of open_for on repeated openings.
    static constexpr int max_backoff_factor = 8;

    explicit CircuitBreaker(const config::CircuitBreakerConfig& config);

    // A ticket says whether the request may go, and if so whether it is a half-open probe.
    struct Ticket {
        bool allowed = false;
        bool probe = false;
        std::uint64_t generation = 0;  // results from an older opening are ignored
    };
    Ticket admit(clock::time_point now);
    // Whether admit() could allow a request now, without taking a probe slot.
    bool may_admit(clock::time_point now) const;
    void record_success(const Ticket& ticket);
    void record_failure(const Ticket& ticket, clock::time_point now);
    // The request ended without telling anything about the endpoint (its client left):
    // a probe gives its slot back.
    void release(const Ticket& ticket);

    State state(clock::time_point now) const;
    // When an open circuit half-opens (for Retry-After).
    clock::time_point open_until() const;

private:
    void open(clock::time_point now);
    // Publishes the state for the lock-free path; under the mutex, after every change.
    void publish();

    const config::CircuitBreakerConfig& config_;
    mutable std::mutex mutex_;
    State state_ = State::closed;
    unsigned consecutive_failures_ = 0;
    unsigned openings_ = 0;  // consecutive openings without a successful probe
    clock::time_point open_until_{};
    unsigned probes_in_flight_ = 0;
    clock::time_point probes_started_{};
    std::uint64_t generation_ = 0;
    // generation_ << 1 | 1 while closed with no failure counted; 0 otherwise.
    std::atomic<std::uint64_t> closed_clean_{1};
};

}  // namespace llmgw::upstream
