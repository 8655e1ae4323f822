// The exporter's counters on the gateway's registry.
#include "llmgw/tracing/trace_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace llmgw::tracing {

TraceMetrics::TraceMetrics(prometheus::Registry& registry) {
    exported_ = &prometheus::BuildCounter()
                     .Name("llmgw_trace_spans_exported_total")
                     .Help("Spans an OTLP collector accepted")
                     .Register(registry)
                     .Add({});
    auto& dropped = prometheus::BuildCounter()
                        .Name("llmgw_trace_spans_dropped_total")
                        .Help(
                            "Spans never exported: the worker's queue was full "
                            "(queue_full) or the collector refused or failed (export_failed)")
                        .Register(registry);
    dropped_queue_full_ = &dropped.Add({{"reason", "queue_full"}});
    dropped_export_failed_ = &dropped.Add({{"reason", "export_failed"}});
}

void TraceMetrics::exported(std::uint64_t spans) {
    exported_->Increment(static_cast<double>(spans));
}

void TraceMetrics::dropped(std::string_view reason, std::uint64_t spans) {
    (reason == "queue_full" ? dropped_queue_full_ : dropped_export_failed_)
        ->Increment(static_cast<double>(spans));
}

}  // namespace llmgw::tracing
