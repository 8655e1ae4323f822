// The circuit breaker's state machine.
#include "llmgw/upstream/circuit_breaker.hpp"

#include <algorithm>

namespace llmgw::upstream {

CircuitBreaker::CircuitBreaker(const config::CircuitBreakerConfig& config) : config_(config) {}

void CircuitBreaker::publish() {
    const bool clean = state_ == State::closed && consecutive_failures_ == 0;
    closed_clean_.store(clean ? generation_ << 1 | 1 : 0, std::memory_order_release);
}

void CircuitBreaker::open(clock::time_point now) {
    state_ = State::open;
    ++generation_;
    openings_ = std::min(openings_ + 1, 16u);
    const auto factor = std::min(1 << (openings_ - 1), max_backoff_factor);
    open_until_ = now + config_.open_for * factor;
    probes_in_flight_ = 0;
    consecutive_failures_ = 0;
}

CircuitBreaker::Ticket CircuitBreaker::admit(clock::time_point now) {
    if (const auto clean = closed_clean_.load(std::memory_order_acquire); clean != 0)
        return {true, false, clean >> 1};
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return {true, false, generation_};
    if (state_ == State::open) {
        if (now < open_until_) return {};
        state_ = State::half_open;
        ++generation_;
        probes_in_flight_ = 0;
    }
    // Half-open: a probe that never reports back (it hangs, its client left) would keep
    // the circuit half-open forever; after open_for it counts as failed.
    if (probes_in_flight_ > 0 && now - probes_started_ > config_.open_for) {
        open(now);
        publish();
        return {};
    }
    if (probes_in_flight_ >= config_.half_open_requests) return {};
    if (probes_in_flight_ == 0) probes_started_ = now;
    ++probes_in_flight_;
    return {true, true, generation_};
}

bool CircuitBreaker::may_admit(clock::time_point now) const {
    if (closed_clean_.load(std::memory_order_acquire) != 0) return true;
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return true;
    if (state_ == State::open) return now >= open_until_;
    // A hung probe is resolved in admit(), so it must be reachable then.
    if (probes_in_flight_ > 0 && now - probes_started_ > config_.open_for) return true;
    return probes_in_flight_ < config_.half_open_requests;
}

void CircuitBreaker::release(const Ticket& ticket) {
    std::lock_guard lock(mutex_);
    if (ticket.probe && ticket.generation == generation_ && state_ == State::half_open &&
        probes_in_flight_ > 0)
        --probes_in_flight_;
}

void CircuitBreaker::record_success(const Ticket& ticket) {
    // Closed, nothing counted, same generation: nothing to change.
    if (closed_clean_.load(std::memory_order_acquire) == (ticket.generation << 1 | 1)) return;
    std::lock_guard lock(mutex_);
    if (ticket.generation != generation_) return;
    if (state_ == State::half_open) {
        // One good probe is enough: the endpoint answers again.
        state_ = State::closed;
        ++generation_;
        openings_ = 0;
    }
    consecutive_failures_ = 0;
    publish();
}

void CircuitBreaker::record_failure(const Ticket& ticket, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (ticket.generation != generation_) return;
    if (state_ == State::half_open)
        open(now);
    else if (state_ == State::closed && ++consecutive_failures_ >= config_.failure_threshold)
        open(now);
    publish();
}

CircuitBreaker::State CircuitBreaker::state(clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (state_ == State::open && now >= open_until_) return State::half_open;
    return state_;
}

CircuitBreaker::clock::time_point CircuitBreaker::open_until() const {
    std::lock_guard lock(mutex_);
    return open_until_;
}

}  // namespace llmgw::upstream
