// What the workers share about a backend's endpoints: health, circuits, in-flight counts,
// and the choice of the next endpoint (skipping unhealthy and open ones).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>
#include <optional>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/upstream/balancer.hpp"
#include "llmgw/upstream/circuit_breaker.hpp"
#include "llmgw/upstream/engine_signals.hpp"
#include "llmgw/upstream/model_catalog.hpp"

namespace llmgw::tls {
class ClientContext;
}

namespace llmgw::upstream {

struct EndpointState {
    EndpointState(const config::Endpoint& endpoint,
                  const config::CircuitBreakerConfig& breaker_config)
        : endpoint(endpoint), breaker(breaker_config) {}

    const config::Endpoint& endpoint;
    std::atomic<bool> healthy{true};  // set by the health checker
    // Attempts in flight: slots taken by pick() (at most endpoint.max_concurrent when set).
    std::atomic<int> in_flight{0};
    bool has_free_slot() const {
        return endpoint.max_concurrent == 0 ||
               in_flight.load(std::memory_order_relaxed) < static_cast<int>(endpoint.max_concurrent);
    }
    // Estimated tokens of the requests in flight; counted only by engine_aware backends.
    std::atomic<std::int64_t> tokens_in_flight{0};
    CircuitBreaker breaker;
    EngineSignals engine;  // set by the engine-metrics scraper (engine != none)
};

struct RoutingHints;
class HashRing;
class PrefixIndex;
class BackendQueue;
class BackendState;

// A request's place on an endpoint and on its backend, taken by pick(): given back when the
// attempt ends (or the slot is dropped), which wakes the backend's next waiter.
class EndpointSlot {
public:
    EndpointSlot() = default;
    EndpointSlot(BackendState& backend, std::size_t index) : backend_(&backend), index_(index) {}
    EndpointSlot(EndpointSlot&& other) noexcept
        : backend_(std::exchange(other.backend_, nullptr)), index_(other.index_) {}
    EndpointSlot& operator=(EndpointSlot&& other) noexcept {
        if (this != &other) {
            release();
            backend_ = std::exchange(other.backend_, nullptr);
            index_ = other.index_;
        }
        return *this;
    }
    ~EndpointSlot() { release(); }
    void release();

private:
    BackendState* backend_ = nullptr;
    std::size_t index_ = 0;
};

class BackendState {
public:
    using clock = std::chrono::steady_clock;
    // Retries may take at most this share of the backend's in-flight requests...
    static constexpr double retry_budget_ratio = 0.2;
    // ...but a few are always allowed, so a lone request can still retry.
    static constexpr int retry_budget_floor = 3;

    // Throws tls::TlsFileError when the backend's TLS settings cannot be loaded.
    explicit BackendState(const config::Backend& backend);
    ~BackendState();
    BackendState(const BackendState&) = delete;
    BackendState& operator=(const BackendState&) = delete;

    const config::Backend& config() const { return config_; }
    // What https:// endpoints connect with (shared by every worker); null without any.
    tls::ClientContext* tls() { return tls_.get(); }
    std::size_t size() const { return endpoints_.size(); }
    EndpointState& endpoint(std::size_t index) { return *endpoints_[index]; }

    struct Choice {
        std::size_t index;
        CircuitBreaker::Ticket ticket;
        EndpointSlot slot;  // held while the attempt runs
    };
    // The next endpoint by the backend's balancer among those that are healthy, whose
    // circuit admits a request, that have a free slot (endpoints[].max_concurrent, within
    // circuit_breaker.max_concurrent for the backend) and that are not in `tried`; the
    // choice holds the slot. nullopt when there is none.
    // `hints` (engine_aware or affinity backends only) feed the score and the affinity.
    std::optional<Choice> pick(const std::vector<bool>& tried, clock::time_point now,
                               const RoutingHints* hints = nullptr);
    // Whether pick() could find an endpoint now (without taking a probe slot).
    bool has_candidate(const std::vector<bool>& tried, clock::time_point now) const;
    // Seconds until an endpoint may be available again (for Retry-After), at least 1.
    int seconds_until_available(clock::time_point now) const;
    // Whether some endpoint could serve but every one (or the backend) is at capacity.
    bool at_capacity(clock::time_point now) const;
    // How many more attempts could start now on endpoints that may be chosen.
    std::size_t free_slots(clock::time_point now) const;
    // Where requests wait while the backend is at capacity; null without `queue`.
    BackendQueue* queue() { return queue_.get(); }

    // Attempts in flight on the whole backend (at most circuit_breaker.max_concurrent).
    std::atomic<int> in_flight{0};
    // Set when a reload dropped or changed the backend: its health checks stop.
    std::atomic<bool> retired{false};
    // What its endpoints' /v1/models lists, when some route answers /v1/models itself.
    ModelCatalog models;
    // Takes a retry from the budget; false when retries already use their share.
    bool try_start_retry();
    bool retry_budget_left() const;
    void end_retry();

    // Requests kept on their endpoint by affinity, and those whose endpoint was over its
    // bound and went to the balancer instead; the metrics sampler takes them (exchange).
    std::atomic<std::uint64_t> affinity_hits{0};
    std::atomic<std::uint64_t> affinity_spills{0};

private:
    friend class EndpointSlot;
    void give_back(std::size_t index);
    bool take_backend_slot();
    bool take_endpoint_slot(EndpointState& state);
    bool eligible(std::size_t index, const std::vector<bool>& tried, clock::time_point now) const;
    std::optional<Choice> admit(std::size_t index, clock::time_point now);
    std::optional<Choice> pick_least_request(const std::vector<bool>& tried, clock::time_point now);
    std::optional<Choice> pick_by_balancer(const std::vector<bool>& tried, clock::time_point now,
                                           const RoutingHints* hints);
    std::optional<Choice> pick_engine_aware(const std::vector<bool>& tried, clock::time_point now,
                                            const RoutingHints* hints);
    std::optional<Choice> pick_by_affinity(const std::vector<bool>& tried, clock::time_point now,
                                           const RoutingHints& hints);
    std::optional<std::size_t> prefix_owner(const std::vector<bool>& tried, clock::time_point now,
                                            const RoutingHints& hints);
    bool within_affinity_bound(std::size_t index, const std::vector<bool>& tried,
                               clock::time_point now, const RoutingHints* hints) const;
    // Each endpoint's load as the engine-aware score sees it, into a per-thread vector.
    std::vector<EndpointLoad>& loads(const std::vector<bool>& tried, clock::time_point now,
                                     const RoutingHints* hints) const;

    // A copy: the state may outlive the config it came from (a reload keeps an unchanged
    // backend's state), and endpoints, the balancer and the pools refer to it.
    const config::Backend config_;
    Balancer balancer_;
    std::vector<std::unique_ptr<EndpointState>> endpoints_;
    std::atomic<int> retries_in_flight_{0};
    std::unique_ptr<tls::ClientContext> tls_;
    std::unique_ptr<PrefixIndex> prefix_index_;  // affinity.by: prefix
    std::unique_ptr<HashRing> ring_;             // affinity.by: header or consumer
    std::unique_ptr<BackendQueue> queue_;        // queue
};

}  // namespace llmgw::upstream
