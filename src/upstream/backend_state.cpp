// Endpoint choice over shared health and circuit state; the retry budget.
#include "llmgw/upstream/backend_state.hpp"

#include <algorithm>
#include <limits>
#include <random>

#include "llmgw/tls/client_context.hpp"
#include "llmgw/upstream/backend_queue.hpp"
#include "llmgw/upstream/hash_ring.hpp"
#include "llmgw/upstream/prefix_index.hpp"
#include "llmgw/upstream/routing_hints.hpp"

namespace llmgw::upstream {

BackendState::BackendState(const config::Backend& backend)
    : config_(backend), balancer_(config_.endpoints) {
    for (const auto& endpoint : config_.endpoints)
        endpoints_.push_back(std::make_unique<EndpointState>(endpoint, config_.circuit_breaker));
    if (std::any_of(config_.endpoints.begin(), config_.endpoints.end(),
                    [](const config::Endpoint& e) { return e.tls; }))
        tls_ = std::make_unique<tls::ClientContext>(config_.name, config_.tls);
    if (config_.affinity && config_.affinity->by == config::AffinityConfig::By::prefix)
        prefix_index_ = std::make_unique<PrefixIndex>(endpoints_.size());
    else if (config_.affinity)
        ring_ = std::make_unique<HashRing>(config_.endpoints);
    if (config_.queue)
        queue_ = std::make_unique<BackendQueue>(*config_.queue,
                                                [this] { return free_slots(clock::now()); });
}

BackendState::~BackendState() = default;

bool BackendState::eligible(std::size_t index, const std::vector<bool>& tried,
                            clock::time_point now) const {
    const auto& state = *endpoints_[index];
    return !tried[index] && state.has_free_slot() && state.healthy.load(std::memory_order_relaxed) &&
           state.breaker.may_admit(now);
}

bool BackendState::take_backend_slot() {
    const auto limit = static_cast<int>(config_.circuit_breaker.max_concurrent);
    if (limit == 0) {
        in_flight.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    auto current = in_flight.load(std::memory_order_relaxed);
    while (current < limit)
        if (in_flight.compare_exchange_weak(current, current + 1, std::memory_order_relaxed))
            return true;
    return false;
}

bool BackendState::take_endpoint_slot(EndpointState& state) {
    const auto limit = static_cast<int>(state.endpoint.max_concurrent);
    if (limit == 0) {
        state.in_flight.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    auto current = state.in_flight.load(std::memory_order_relaxed);
    while (current < limit)
        if (state.in_flight.compare_exchange_weak(current, current + 1, std::memory_order_relaxed))
            return true;
    return false;
}

void BackendState::give_back(std::size_t index) {
    endpoints_[index]->in_flight.fetch_sub(1, std::memory_order_relaxed);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (queue_) queue_->slot_freed();
}

void EndpointSlot::release() {
    if (backend_ != nullptr) std::exchange(backend_, nullptr)->give_back(index_);
}

std::optional<BackendState::Choice> BackendState::admit(std::size_t index, clock::time_point now) {
    // The slots first, each taken atomically: two workers never both take an endpoint's last.
    if (!take_backend_slot()) return std::nullopt;
    auto& state = *endpoints_[index];
    if (!take_endpoint_slot(state)) {
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        return std::nullopt;
    }
    EndpointSlot slot(*this, index);
    const auto ticket = state.breaker.admit(now);
    if (!ticket.allowed) return std::nullopt;  // the slot goes back
    return Choice{index, ticket, std::move(slot)};
}

std::optional<BackendState::Choice> BackendState::pick(const std::vector<bool>& tried,
                                                       clock::time_point now,
                                                       const RoutingHints* hints) {
    std::optional<Choice> choice;
    if (hints != nullptr && config_.affinity) choice = pick_by_affinity(tried, now, *hints);
    if (!choice) choice = pick_by_balancer(tried, now, hints);
    // The endpoint now holds the prompt's blocks, whichever way it was chosen.
    if (choice && hints != nullptr && prefix_index_ && !hints->prefix_blocks.empty())
        prefix_index_->record(choice->index, hints->prefix_blocks);
    return choice;
}

std::optional<BackendState::Choice> BackendState::pick_by_balancer(const std::vector<bool>& tried,
                                                                   clock::time_point now,
                                                                   const RoutingHints* hints) {
    if (config_.balancer == config::BalancerKind::least_request)
        return pick_least_request(tried, now);
    if (config_.balancer == config::BalancerKind::engine_aware)
        return pick_engine_aware(tried, now, hints);
    // Round-robin (weighted): walk the schedule from the shared position and take the
    // first endpoint that can serve; a full lap means none can. The lap is walked locally:
    // other workers moving the shared position meanwhile cannot make it skip an endpoint.
    const auto& schedule = balancer_.schedule();
    const auto start = balancer_.take_position();
    for (std::size_t step = 0; step < schedule.size(); ++step) {
        const auto index = schedule[(start + step) % schedule.size()];
        if (!eligible(index, tried, now)) continue;
        if (auto choice = admit(index, now)) return choice;
    }
    return std::nullopt;
}

std::optional<BackendState::Choice> BackendState::pick_engine_aware(const std::vector<bool>& tried,
                                                                    clock::time_point now,
                                                                    const RoutingHints* hints) {
    // The lowest score of all endpoints: the gateway's own counts change at every send, so
    // workers choosing at once see each other's requests and do not herd.
    auto& loads = this->loads(tried, now, hints);
    const auto start = balancer_.take_position();
    for (std::size_t round = 0; round < loads.size(); ++round) {
        const auto best = lowest_score(loads, start);
        if (!best) return std::nullopt;
        if (auto choice = admit(*best, now)) return choice;
        loads[*best].eligible = false;  // its circuit filled up meanwhile
    }
    return std::nullopt;
}

std::optional<BackendState::Choice> BackendState::pick_least_request(const std::vector<bool>& tried,
                                                                     clock::time_point now) {
    // Power of two choices: two random candidates, the one with fewer requests in flight.
    // It avoids both the herd that "always the least loaded" causes across workers and a
    // scan of every endpoint per request.
    std::vector<std::size_t> candidates;
    candidates.reserve(endpoints_.size());
    for (std::size_t i = 0; i < endpoints_.size(); ++i)
        if (eligible(i, tried, now)) candidates.push_back(i);
    thread_local std::minstd_rand random{std::random_device{}()};
    while (!candidates.empty()) {
        std::size_t pick_at = random() % candidates.size();
        if (candidates.size() > 1) {
            std::size_t other = random() % (candidates.size() - 1);
            if (other >= pick_at) ++other;
            if (endpoints_[candidates[other]]->in_flight.load(std::memory_order_relaxed) <
                endpoints_[candidates[pick_at]]->in_flight.load(std::memory_order_relaxed))
                pick_at = other;
        }
        if (auto choice = admit(candidates[pick_at], now)) return choice;
        candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(pick_at));
    }
    return std::nullopt;
}

std::vector<EndpointLoad>& BackendState::loads(const std::vector<bool>& tried,
                                               clock::time_point now,
                                               const RoutingHints* hints) const {
    thread_local std::vector<EndpointLoad> loads;  // reused: no allocation per request
    loads.resize(endpoints_.size());
    const bool scraped = config_.engine != config::EngineKind::none;
    const auto stale_after = config_.engine_metrics.stale_after;
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        const auto& state = *endpoints_[i];
        auto& load = loads[i];
        load.requests = state.in_flight.load(std::memory_order_relaxed);
        load.tokens = state.tokens_in_flight.load(std::memory_order_relaxed);
        load.engine = scraped ? state.engine.fresh(now, stale_after) : std::nullopt;
        load.runs_adapter = hints != nullptr && state.engine.runs_adapter(hints->model);
        load.eligible = eligible(i, tried, now);
    }
    return loads;
}

int BackendState::seconds_until_available(clock::time_point now) const {
    auto soonest = clock::time_point::max();
    for (const auto& state : endpoints_) {
        if (!state->healthy.load()) continue;
        soonest = std::min(soonest, std::max(now, state->breaker.open_until()));
    }
    if (soonest == clock::time_point::max()) return 1;  // waiting on health checks
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(soonest - now).count() + 1;
    return static_cast<int>(std::clamp<long>(seconds, 1, 3600));
}

std::size_t BackendState::free_slots(clock::time_point now) const {
    constexpr auto unlimited = std::numeric_limits<std::size_t>::max();
    auto backend_free = unlimited;
    if (const auto limit = config_.circuit_breaker.max_concurrent; limit > 0)
        backend_free = limit - std::min<std::size_t>(limit, std::max(0, in_flight.load()));
    std::size_t free = 0;
    for (const auto& state : endpoints_) {
        if (!state->healthy.load(std::memory_order_relaxed) || !state->breaker.may_admit(now))
            continue;
        const auto limit = state->endpoint.max_concurrent;
        if (limit == 0) return backend_free;
        free += limit - std::min<std::size_t>(limit, std::max(0, state->in_flight.load()));
    }
    return std::min(free, backend_free);
}

bool BackendState::at_capacity(clock::time_point now) const {
    const bool could_serve = std::any_of(endpoints_.begin(), endpoints_.end(), [&](const auto& s) {
        return s->healthy.load(std::memory_order_relaxed) && s->breaker.may_admit(now);
    });
    return could_serve && free_slots(now) == 0;
}

bool BackendState::has_candidate(const std::vector<bool>& tried, clock::time_point now) const {
    for (std::size_t i = 0; i < endpoints_.size(); ++i)
        if (eligible(i, tried, now)) return true;
    return false;
}

bool BackendState::retry_budget_left() const {
    const auto allowed =
        std::max(retry_budget_floor,
                 static_cast<int>(in_flight.load(std::memory_order_relaxed) * retry_budget_ratio));
    return retries_in_flight_.load(std::memory_order_relaxed) < allowed;
}

bool BackendState::try_start_retry() {
    const auto allowed =
        std::max(retry_budget_floor,
                 static_cast<int>(in_flight.load(std::memory_order_relaxed) * retry_budget_ratio));
    if (retries_in_flight_.fetch_add(1, std::memory_order_relaxed) >= allowed) {
        retries_in_flight_.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void BackendState::end_retry() {
    retries_in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace llmgw::upstream
