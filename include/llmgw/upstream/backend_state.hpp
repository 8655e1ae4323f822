// What the workers share about a backend's endpoints: health, circuits, in-flight counts,
// and the choice of the next endpoint (skipping unhealthy and open ones).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/upstream/balancer.hpp"
#include "llmgw/upstream/circuit_breaker.hpp"
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
    std::atomic<int> in_flight{0};
    CircuitBreaker breaker;
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
    };
    // The next endpoint by the backend's balancer among those that are healthy, whose
    // circuit admits a request, and that are not in `tried`; nullopt when there is none.
    std::optional<Choice> pick(const std::vector<bool>& tried, clock::time_point now);
    // Whether pick() could find an endpoint now (without taking a probe slot).
    bool has_candidate(const std::vector<bool>& tried, clock::time_point now) const;
    // Seconds until an endpoint may be available again (for Retry-After), at least 1.
    int seconds_until_available(clock::time_point now) const;

    std::atomic<int> in_flight{0};
    // Set when a reload dropped or changed the backend: its health checks stop.
    std::atomic<bool> retired{false};
    // What its endpoints' /v1/models lists, when some route answers /v1/models itself.
    ModelCatalog models;
    // Takes a retry from the budget; false when retries already use their share.
    bool try_start_retry();
    bool retry_budget_left() const;
    void end_retry();

private:
    bool eligible(std::size_t index, const std::vector<bool>& tried, clock::time_point now) const;
    std::optional<Choice> admit(std::size_t index, clock::time_point now);
    std::optional<Choice> pick_least_request(const std::vector<bool>& tried, clock::time_point now);

    // A copy: the state may outlive the config it came from (a reload keeps an unchanged
    // backend's state), and endpoints, the balancer and the pools refer to it.
    const config::Backend config_;
    Balancer balancer_;
    std::vector<std::unique_ptr<EndpointState>> endpoints_;
    std::atomic<int> retries_in_flight_{0};
    std::unique_ptr<tls::ClientContext> tls_;
};

}  // namespace llmgw::upstream
