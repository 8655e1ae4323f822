// LimitMetrics on the shared registry.
#include "llmgw/observability/limit_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

#include "handle_cache.hpp"

namespace llmgw::observability {

LimitMetrics::LimitMetrics(prometheus::Registry& registry)
    : reservations_(prometheus::BuildCounter()
                        .Name("llmgw_reservations_total")
                        .Help("Reservations taken from token and cost limits at admission, by tier")
                        .Register(registry)),
      reserved_tokens_(prometheus::BuildCounter()
                           .Name("llmgw_reserved_tokens_total")
                           .Help("Tokens reserved at admission, by tier")
                           .Register(registry)),
      settled_tokens_(prometheus::BuildCounter()
                          .Name("llmgw_reservation_settled_tokens_total")
                          .Help("Tokens a settle gave back (refund) or took beyond the "
                                "reservation (extra), by tier")
                          .Register(registry)),
      cost_(prometheus::BuildCounter()
                .Name("llmgw_cost_total")
                .Help("Money spent at the configured prices, in their unit, by consumer")
                .Register(registry)),
      redis_calls_(prometheus::BuildCounter()
                       .Name("llmgw_redis_admission_calls_total")
                       .Help("Redis calls of the admission path, by kind (admit, flush, renew, peek)")
                       .Register(registry)),
      carried_(prometheus::BuildCounter()
                   .Name("llmgw_redis_carried_operations_total")
                   .Help("Settles and usage records sent along with a Redis call, by kind")
                   .Register(registry)),
      dropped_(prometheus::BuildCounter()
                   .Name("llmgw_redis_backlog_dropped_total")
                   .Help("Settles and usage records dropped: the backlog was full while Redis "
                         "was unavailable")
                   .Register(registry)),
      concurrency_refused_(prometheus::BuildCounter()
                               .Name("llmgw_concurrency_refused_total")
                               .Help("Requests refused with 429 concurrency_limit: the consumer "
                                     "had its tier's max_concurrent in flight, by tier")
                               .Register(registry)),
      lease_admitted_(prometheus::BuildCounter()
                          .Name("llmgw_lease_admissions_total")
                          .Help("Requests admitted from this instance's slices of their limits "
                                "(redis.admission lease), without a Redis call")
                          .Register(registry)
                          .Add({})),
      registry_(registry),
      owner_(next_metrics_owner()) {}

// The hot-path families resolve their children once per thread and label value.
void LimitMetrics::reserved(std::string_view tier, std::uint64_t tokens) {
    struct Handles {
        prometheus::Counter* reservations;
        prometheus::Counter* tokens;
    };
    thread_local HandleCache<Handles> cache;
    const auto& handles = cache.get(owner_, tier, [&] {
        const std::string name(tier);
        return Handles{&reservations_.Add({{"tier", name}}), &reserved_tokens_.Add({{"tier", name}})};
    });
    handles.reservations->Increment();
    handles.tokens->Increment(static_cast<double>(tokens));
}

void LimitMetrics::settled(std::string_view tier, std::uint64_t reserved, std::uint64_t actual) {
    if (reserved == actual) return;
    const bool refund = actual < reserved;
    thread_local HandleCache<prometheus::Counter*> refunds, extras;
    const char* direction = refund ? "refund" : "extra";
    auto* counter = (refund ? refunds : extras).get(owner_, tier, [&] {
        return &settled_tokens_.Add({{"tier", std::string(tier)}, {"direction", direction}});
    });
    counter->Increment(static_cast<double>(refund ? reserved - actual : actual - reserved));
}

void LimitMetrics::cost(std::string_view consumer, std::uint64_t nano) {
    if (nano == 0) return;
    thread_local HandleCache<prometheus::Counter*> cache;
    auto* counter = cache.get(owner_, consumer, [&] {
        return &cost_.Add({{"consumer", std::string(consumer)}});
    });
    counter->Increment(static_cast<double>(nano) / 1e9);
}

void LimitMetrics::redis_call(std::string_view kind, std::uint64_t carried) {
    struct Handles {
        prometheus::Counter* calls;
        prometheus::Counter* carried;  // made with the first call that carried something
    };
    thread_local HandleCache<Handles> cache;
    auto& handles = cache.get(owner_, kind, [&] {
        return Handles{&redis_calls_.Add({{"kind", std::string(kind)}}), nullptr};
    });
    handles.calls->Increment();
    if (carried == 0) return;
    if (handles.carried == nullptr) handles.carried = &carried_.Add({{"kind", std::string(kind)}});
    handles.carried->Increment(static_cast<double>(carried));
}

void LimitMetrics::concurrency_refused(std::string_view tier) {
    concurrency_refused_.Add({{"tier", std::string(tier)}}).Increment();
}

void LimitMetrics::lease_admitted() { lease_admitted_.Increment(); }

void LimitMetrics::fleet_size(unsigned live) {
    if (fleet_size_ == nullptr)
        fleet_size_ = &prometheus::BuildGauge()
                           .Name("llmgw_redis_instances")
                           .Help("llmgw instances sharing the Redis at the last heartbeat, this "
                                 "one included: each enforces limit / this while Redis is away "
                                 "(failure_mode open)")
                           .Register(registry_)
                           .Add({});
    fleet_size_->Set(live);
}

void LimitMetrics::backlog_dropped(std::uint64_t operations) {
    dropped_.Add({}).Increment(static_cast<double>(operations));
}

}  // namespace llmgw::observability
