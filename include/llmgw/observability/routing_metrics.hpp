// The engine-aware balancer's metrics: each endpoint's engine figures as last scraped and
// their age, scrape failures, and affinity hits and spills; sampled when /metrics is read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace llmgw::observability {

// One endpoint's engine figures as the scraper last stored them.
struct EngineSample {
    double waiting = 0;
    double running = 0;
    double kv_usage = 0;
    std::optional<double> age_seconds;  // nullopt: never scraped successfully
    std::uint64_t scrape_failures = 0;  // since the last sample
};

class RoutingMetrics {
public:
    explicit RoutingMetrics(prometheus::Registry& registry);
    ~RoutingMetrics();
    RoutingMetrics(const RoutingMetrics&) = delete;
    RoutingMetrics& operator=(const RoutingMetrics&) = delete;

    // Labels are the configured backend name and endpoint URL.
    void engine(std::string_view backend, std::string_view endpoint, const EngineSample& sample);
    // Counts since the last sample (the sampler takes them from the shared state).
    void affinity(std::string_view backend, std::uint64_t hits, std::uint64_t spills);

private:
    struct Families;
    std::unique_ptr<Families> families_;
};

}  // namespace llmgw::observability
