// The response cache's Prometheus metrics: lookups by route and result, coalesced requests,
// stores, store errors, and the in-process store's size (sampled at scrape time).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace llmgw::cache {

enum class Lookup { hit, miss, bypass };

class CacheMetrics {
public:
    explicit CacheMetrics(prometheus::Registry& registry);

    void lookup(std::string_view route, Lookup result);
    void coalesced(std::string_view route);
    void stored(std::string_view route);
    void store_error();
    // The in-process store's state; evictions is its running total.
    void sample(std::uint64_t bytes, std::uint64_t entries, std::uint64_t evictions);

private:
    struct RouteCounters {
        prometheus::Counter* hit;
        prometheus::Counter* miss;
        prometheus::Counter* bypass;
        prometheus::Counter* coalesced;
        prometheus::Counter* stored;
    };
    RouteCounters& route(std::string_view name);

    prometheus::Family<prometheus::Counter>& lookups_;
    prometheus::Family<prometheus::Counter>& coalesced_;
    prometheus::Family<prometheus::Counter>& stored_;
    prometheus::Counter& store_errors_;
    prometheus::Gauge& bytes_;
    prometheus::Gauge& entries_;
    prometheus::Counter& evictions_;
    std::uint64_t evictions_seen_ = 0;
    std::mutex mutex_;
    std::unordered_map<std::string, RouteCounters> routes_;
};

}  // namespace llmgw::cache
