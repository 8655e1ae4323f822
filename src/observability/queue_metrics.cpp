// QueueMetrics on the shared registry.
#include "llmgw/observability/queue_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace llmgw::observability {

namespace {
// From a few milliseconds (a slot freed at once) to the longest queue timeouts.
const prometheus::Histogram::BucketBoundaries wait_buckets = {0.005, 0.025, 0.1, 0.25, 0.5, 1,
                                                              2.5,   5,     10,  30,   60,  120};
}  // namespace

QueueMetrics::QueueMetrics(prometheus::Registry& registry)
    : wait_(prometheus::BuildHistogram()
                .Name("llmgw_queue_wait_seconds")
                .Help("Time requests spent in a backend's queue, by backend and tier priority")
                .Register(registry)),
      outcomes_(prometheus::BuildCounter()
                    .Name("llmgw_queue_requests_total")
                    .Help("Requests that waited in a backend's queue, by how the wait ended: "
                          "served, timeout, full (refused at once) or left (the client went)")
                    .Register(registry)),
      depth_(prometheus::BuildGauge()
                 .Name("llmgw_queue_depth")
                 .Help("Requests waiting in a backend's queue now, by tier priority")
                 .Register(registry)),
      fallbacks_(prometheus::BuildCounter()
                     .Name("llmgw_fallbacks_total")
                     .Help("Requests sent to a fallback backend, by backend, fallback and reason")
                     .Register(registry)) {}

void QueueMetrics::waited(std::string_view backend, unsigned priority, std::string_view outcome,
                          double seconds) {
    outcomes_.Add({{"backend", std::string(backend)}, {"outcome", std::string(outcome)}})
        .Increment();
    if (outcome == "full") return;
    wait_.Add({{"backend", std::string(backend)}, {"priority", std::to_string(priority)}},
              wait_buckets)
        .Observe(seconds);
}

void QueueMetrics::depth(std::string_view backend, unsigned priority, std::size_t waiting) {
    depth_.Add({{"backend", std::string(backend)}, {"priority", std::to_string(priority)}})
        .Set(static_cast<double>(waiting));
}

void QueueMetrics::fallback(std::string_view backend, std::string_view fallback,
                            std::string_view reason) {
    fallbacks_
        .Add({{"backend", std::string(backend)},
              {"fallback", std::string(fallback)},
              {"reason", std::string(reason)}})
        .Increment();
}

}  // namespace llmgw::observability
