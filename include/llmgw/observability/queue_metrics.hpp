// Metrics of scheduling under saturation: each backend's queue (depth, waits, outcomes) and
// the fallbacks taken when a backend could not take a request.
#pragma once

#include <cstddef>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace llmgw::observability {

class QueueMetrics {
public:
    explicit QueueMetrics(prometheus::Registry& registry);

    // One stay in a backend's queue ended: outcome served, timeout, full or left; priority is
    // the tier's (from the config). The wait is observed for every outcome but full.
    void waited(std::string_view backend, unsigned priority, std::string_view outcome,
                double seconds);
    // Requests waiting now (sampled when /metrics is read).
    void depth(std::string_view backend, unsigned priority, std::size_t waiting);
    // A request went on to `fallback` because `backend` could not take it; reason:
    // no_healthy_endpoint, backend_overloaded, queue_timeout or queue_full.
    void fallback(std::string_view backend, std::string_view fallback, std::string_view reason);

private:
    prometheus::Family<prometheus::Histogram>& wait_;
    prometheus::Family<prometheus::Counter>& outcomes_;
    prometheus::Family<prometheus::Gauge>& depth_;
    prometheus::Family<prometheus::Counter>& fallbacks_;
};

}  // namespace llmgw::observability
