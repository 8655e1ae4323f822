// Cache metrics on the shared registry; route labels come from the config only.
#include "llmgw/cache/cache_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace llmgw::cache {

CacheMetrics::CacheMetrics(prometheus::Registry& registry)
    : lookups_(prometheus::BuildCounter()
                   .Name("llmgw_cache_requests_total")
                   .Help("Requests on routes with a cache, by route and result (hit, miss, bypass)")
                   .Register(registry)),
      coalesced_(prometheus::BuildCounter()
                     .Name("llmgw_cache_coalesced_total")
                     .Help("Requests that waited for an identical request in flight instead of "
                           "calling the upstream themselves, by route")
                     .Register(registry)),
      stored_(prometheus::BuildCounter()
                  .Name("llmgw_cache_stored_total")
                  .Help("Answers stored in the cache, by route")
                  .Register(registry)),
      store_errors_(prometheus::BuildCounter()
                        .Name("llmgw_cache_store_errors_total")
                        .Help("Cache lookups or stores that failed because the store (Redis) did "
                              "not answer; each counted as a miss")
                        .Register(registry)
                        .Add({})),
      bytes_(prometheus::BuildGauge()
                 .Name("llmgw_cache_bytes")
                 .Help("Bytes held by the in-process cache store")
                 .Register(registry)
                 .Add({})),
      entries_(prometheus::BuildGauge()
                   .Name("llmgw_cache_entries")
                   .Help("Entries held by the in-process cache store")
                   .Register(registry)
                   .Add({})),
      evictions_(prometheus::BuildCounter()
                     .Name("llmgw_cache_evictions_total")
                     .Help("Entries the in-process cache store evicted to stay within max_bytes")
                     .Register(registry)
                     .Add({})) {}

CacheMetrics::RouteCounters& CacheMetrics::route(std::string_view name) {
    std::lock_guard lock(mutex_);
    const auto found = routes_.find(std::string(name));
    if (found != routes_.end()) return found->second;
    const std::string label(name);
    RouteCounters counters{&lookups_.Add({{"route", label}, {"result", "hit"}}),
                           &lookups_.Add({{"route", label}, {"result", "miss"}}),
                           &lookups_.Add({{"route", label}, {"result", "bypass"}}),
                           &coalesced_.Add({{"route", label}}), &stored_.Add({{"route", label}})};
    return routes_.emplace(label, counters).first->second;
}

void CacheMetrics::lookup(std::string_view route_name, Lookup result) {
    auto& counters = route(route_name);
    switch (result) {
        case Lookup::hit: counters.hit->Increment(); break;
        case Lookup::miss: counters.miss->Increment(); break;
        case Lookup::bypass: counters.bypass->Increment(); break;
    }
}

void CacheMetrics::coalesced(std::string_view route_name) { route(route_name).coalesced->Increment(); }

void CacheMetrics::stored(std::string_view route_name) { route(route_name).stored->Increment(); }

void CacheMetrics::store_error() { store_errors_.Increment(); }

void CacheMetrics::sample(std::uint64_t bytes, std::uint64_t entries, std::uint64_t evictions) {
    bytes_.Set(static_cast<double>(bytes));
    entries_.Set(static_cast<double>(entries));
    std::lock_guard lock(mutex_);
    if (evictions > evictions_seen_) {
        evictions_.Increment(static_cast<double>(evictions - evictions_seen_));
        evictions_seen_ = evictions;
    }
}

}  // namespace llmgw::cache
