// BackendState's affinity: the endpoint a request belongs with (longest prompt prefix, or
// the hash ring's owner of its key), kept while that endpoint's load stays bounded.
#include <algorithm>

#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/hash_ring.hpp"
#include "llmgw/upstream/prefix_index.hpp"
#include "llmgw/upstream/routing_hints.hpp"

namespace llmgw::upstream {

std::optional<BackendState::Choice> BackendState::pick_by_affinity(const std::vector<bool>& tried,
                                                                   clock::time_point now,
                                                                   const RoutingHints& hints) {
    std::optional<std::size_t> owner;
    if (prefix_index_ && !hints.prefix_blocks.empty()) {
        owner = prefix_owner(tried, now, hints);
    } else if (ring_ && hints.affinity_key) {
        const auto found = ring_->owner(*hints.affinity_key,
                                        [&](std::size_t i) { return eligible(i, tried, now); });
        if (found != HashRing::npos) owner = found;
    }
    if (!owner) return std::nullopt;  // nothing known yet: the balancer decides
    if (!within_affinity_bound(*owner, tried, now, &hints)) {
        affinity_spills.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    }
    auto choice = admit(*owner, now);
    if (choice) affinity_hits.fetch_add(1, std::memory_order_relaxed);
    return choice;
}

std::optional<std::size_t> BackendState::prefix_owner(const std::vector<bool>& tried,
                                                      clock::time_point now,
                                                      const RoutingHints& hints) {
    thread_local std::vector<std::size_t> counts;
    prefix_index_->match(hints.prefix_blocks, counts);
    std::optional<std::size_t> owner;
    // Scanned from a rotating start: endpoints with equal runs (a system prompt both hold)
    // and equal load take turns, so conversations sharing only a system prompt spread.
    const auto start = balancer_.take_position();
    for (std::size_t step = 0; step < endpoints_.size(); ++step) {
        const auto i = (start + step) % endpoints_.size();
        if (counts[i] == 0 || !eligible(i, tried, now)) continue;
        // The longest run wins; among equal runs, the endpoint with fewer requests in flight.
        if (!owner || counts[i] > counts[*owner] ||
            (counts[i] == counts[*owner] &&
             endpoints_[i]->in_flight.load(std::memory_order_relaxed) <
                 endpoints_[*owner]->in_flight.load(std::memory_order_relaxed)))
            owner = i;
    }
    return owner;
}

namespace {

// The load bounded loads compare: requests in flight, plus the requests the engine reports
// queued when its figures are fresh, so affinity also lets go of an endpoint with a queue.
// Whole requests, not the score: the bound's rounding up is meant for counts.
double affinity_load(const EndpointLoad& load) {
    return load.requests + (load.engine ? load.engine->waiting : 0.0);
}

}  // namespace

bool BackendState::within_affinity_bound(std::size_t index, const std::vector<bool>& tried,
                                         clock::time_point now, const RoutingHints* hints) const {
    const auto& loads = this->loads(tried, now, hints);
    double total = 0;
    std::size_t candidates = 0;
    for (std::size_t i = 0; i < loads.size(); ++i) {
        if (!loads[i].eligible && i != index) continue;
        total += affinity_load(loads[i]);
        ++candidates;
    }
    return within_bound(affinity_load(loads[index]), total, candidates, config_.affinity->max_load);
}

}  // namespace llmgw::upstream
