// Spreads a backend's requests over its endpoints in proportion to their weights.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::upstream {

// Smooth weighted round-robin: the pick order is computed once from the weights
// (weights 5,1,1 give a,a,b,a,c,a,a — not a,a,a,a,a,b,c), and the workers share one
// atomic position in it, so the spread is exact across threads without a lock.
// With equal weights this is plain round-robin.
class Balancer {
public:
    explicit Balancer(const std::vector<config::Endpoint>& endpoints);
    Balancer(const Balancer&) = delete;
    Balancer& operator=(const Balancer&) = delete;

    // Index into the backend's endpoints.
    std::size_t pick();
    // Takes the next position in the schedule; a caller that must skip endpoints walks on
    // from it (schedule()[(start + k) % size]) without moving the shared position again.
    std::size_t take_position();
    const std::vector<std::size_t>& schedule() const { return schedule_; }

private:
    std::vector<std::size_t> schedule_;
    std::atomic<std::size_t> position_{0};
};

}  // namespace llmgw::upstream
