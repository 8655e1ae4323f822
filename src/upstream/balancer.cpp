// Smooth weighted round-robin over a backend's endpoints.
#include "llmgw/upstream/balancer.hpp"

#include <cstdint>

namespace llmgw::upstream {

Balancer::Balancer(const std::vector<config::Endpoint>& endpoints) {
    // nginx's smooth weighted round-robin, unrolled over one full cycle.
    std::int64_t total = 0;
    for (const auto& e : endpoints) total += e.weight;
    std::vector<std::int64_t> current(endpoints.size(), 0);
    schedule_.reserve(static_cast<std::size_t>(total));
    for (std::int64_t step = 0; step < total; ++step) {
        std::size_t best = 0;
        for (std::size_t i = 0; i < endpoints.size(); ++i) {
            current[i] += endpoints[i].weight;
            if (current[i] > current[best]) best = i;
        }
        current[best] -= total;
        schedule_.push_back(best);
    }
}

std::size_t Balancer::take_position() {
    return position_.fetch_add(1, std::memory_order_relaxed);
}

std::size_t Balancer::pick() {
    const auto n = position_.fetch_add(1, std::memory_order_relaxed);
    return schedule_[n % schedule_.size()];
}

}  // namespace llmgw::upstream
