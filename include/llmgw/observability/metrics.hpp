// The Prometheus registry every component adds its metrics to, served on the admin /metrics.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/observability/access_record.hpp"
#include "llmgw/observability/limit_metrics.hpp"
#include "llmgw/observability/queue_metrics.hpp"

namespace prometheus {
class Registry;
}

namespace llmgw::observability {

class Metrics {
public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    void request_started();
    // Counts a finished request; labels come from the config (route, backend, tier) and
    // the status, never from raw client input.
    void request_finished(const AccessRecord& record);
    // Counts a request refused while it was being read (it never started).
    void request_refused(const AccessRecord& record);
    void upstream_error(std::string_view backend, std::string_view kind);
    // An idle upstream connection the pool closed; `reason`: idle_timeout, server_closed or
    // overflow (more than keepalive.max_idle).
    void upstream_connection_closed(std::string_view backend, std::string_view reason);
    // `outcome`: attempt (a retry was made) or budget_exhausted (one was refused).
    void retry(std::string_view backend, std::string_view outcome);
    // Per-endpoint state, sampled when /metrics is scraped.
    void endpoint_state(std::string_view backend, std::string_view endpoint, bool healthy,
                        int circuit_state, int in_flight);
    // LLM tokens by consumer (configured API-key consumers; "jwt" and "anonymous" otherwise)
    // and kind (prompt, completion).
    void tokens(std::string_view consumer, std::uint64_t prompt, std::uint64_t completion);
    // A request refused by a limit: tier and limit (requests_rate, tokens_quota, ...).
    void rate_limited(std::string_view tier, std::string_view limit);
    // A client connection closed at once because server.max_connections were open.
    void connection_refused();
    // One Redis call: its latency, and whether it succeeded.
    void redis_call(std::chrono::steady_clock::duration latency, bool ok);
    // A request admitted by the in-process limiter because Redis was unavailable.
    void redis_fail_open();
    // A TLS handshake with Redis that failed (each retry counts).
    void redis_tls_failure();
    // Runs `hook` right before every scrape (to sample state kept elsewhere).
    void on_scrape(std::function<void()> hook);
    // `reason` comes from a fixed set (missing, unknown_key, expired, ...), never from the request.
    void auth_failure(std::string_view reason);

    // Reservations, cost and the admission's Redis calls.
    LimitMetrics& limits() { return *limits_; }
    // Backend queues and fallbacks.
    QueueMetrics& queue() { return *queue_; }
    // The store's state, sampled at each scrape (admin thread): whether the database answered
    // last, seconds since consumers and keys were last read whole, ledger rows waiting to be
    // written, and requests dropped from the ledger's full buffer (a running total).
    void store_state(bool reachable, double stale_seconds, double pending_rows,
                     std::uint64_t dropped_total);

    // The text exposition format.
    std::string serialize() const;
    prometheus::Registry& registry();

private:
    struct Families;
    struct StoreFamilies;
    std::shared_ptr<prometheus::Registry> registry_;
    std::unique_ptr<Families> families_;
    std::unique_ptr<LimitMetrics> limits_;
    std::unique_ptr<QueueMetrics> queue_;
    std::unique_ptr<StoreFamilies> store_;  // made on the first store_state
    std::vector<std::function<void()>> scrape_hooks_;
};

}  // namespace llmgw::observability
