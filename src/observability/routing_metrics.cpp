// Engine figures and affinity outcomes as Prometheus families, set from sampled state.
#include "llmgw/observability/routing_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

namespace llmgw::observability {

struct RoutingMetrics::Families {
    prometheus::Family<prometheus::Gauge>& waiting;
    prometheus::Family<prometheus::Gauge>& running;
    prometheus::Family<prometheus::Gauge>& kv_usage;
    prometheus::Family<prometheus::Gauge>& age;
    prometheus::Family<prometheus::Counter>& failures;
    prometheus::Family<prometheus::Counter>& affinity;
};

RoutingMetrics::RoutingMetrics(prometheus::Registry& registry)
    : families_(new Families{
          prometheus::BuildGauge()
              .Name("llmgw_engine_requests_waiting")
              .Help("Requests waiting in the engine's queue, as last scraped")
              .Register(registry),
          prometheus::BuildGauge()
              .Name("llmgw_engine_requests_running")
              .Help("Requests the engine was running, as last scraped")
              .Register(registry),
          prometheus::BuildGauge()
              .Name("llmgw_engine_kv_cache_usage_ratio")
              .Help("The engine's KV-cache use (0..1), as last scraped")
              .Register(registry),
          prometheus::BuildGauge()
              .Name("llmgw_engine_metrics_age_seconds")
              .Help("Seconds since the engine's metrics were last read; -1 before the first read")
              .Register(registry),
          prometheus::BuildCounter()
              .Name("llmgw_engine_scrape_failures_total")
              .Help("Engine metrics scrapes that failed (connect, timeout, status, no figures)")
              .Register(registry),
          prometheus::BuildCounter()
              .Name("llmgw_affinity_total")
              .Help("Requests by affinity outcome: hit (kept on their endpoint) or spill (their "
                    "endpoint was over max_load; the balancer chose)")
              .Register(registry)}) {}

RoutingMetrics::~RoutingMetrics() = default;

void RoutingMetrics::engine(std::string_view backend, std::string_view endpoint,
                            const EngineSample& sample) {
    const std::map<std::string, std::string> labels = {{"backend", std::string(backend)},
                                                       {"endpoint", std::string(endpoint)}};
    families_->waiting.Add(labels).Set(sample.waiting);
    families_->running.Add(labels).Set(sample.running);
    families_->kv_usage.Add(labels).Set(sample.kv_usage);
    families_->age.Add(labels).Set(sample.age_seconds.value_or(-1));
    families_->failures.Add(labels).Increment(static_cast<double>(sample.scrape_failures));
}

void RoutingMetrics::affinity(std::string_view backend, std::uint64_t hits, std::uint64_t spills) {
    families_->affinity.Add({{"backend", std::string(backend)}, {"outcome", "hit"}})
        .Increment(static_cast<double>(hits));
    families_->affinity.Add({{"backend", std::string(backend)}, {"outcome", "spill"}})
        .Increment(static_cast<double>(spills));
}

}  // namespace llmgw::observability
