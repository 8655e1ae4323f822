// The exporter's counters, shared by every worker: spans a collector accepted, and spans
// dropped (the queue was full, or the collector would not take them).
#pragma once

#include <cstdint>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace llmgw::tracing {

class TraceMetrics {
public:
    explicit TraceMetrics(prometheus::Registry& registry);

    void exported(std::uint64_t spans);
    // reason: queue_full or export_failed.
    void dropped(std::string_view reason, std::uint64_t spans);

private:
    prometheus::Counter* exported_;
    prometheus::Counter* dropped_queue_full_;
    prometheus::Counter* dropped_export_failed_;
};

}  // namespace llmgw::tracing
