// Metrics of the limits: reservations and how they settled, money spent per consumer, Redis
// calls of the admission path and the work waiting to ride along with them.
#pragma once

#include <cstdint>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace llmgw::observability {

class LimitMetrics {
public:
    explicit LimitMetrics(prometheus::Registry& registry);

    // A reservation taken at admission (tier: from the config).
    void reserved(std::string_view tier, std::uint64_t tokens);
    // A reservation settled: tokens given back (refund) or taken beyond it (extra).
    void settled(std::string_view tier, std::uint64_t reserved, std::uint64_t actual);
    // Money spent by a consumer (configured API-key consumers; "jwt", "anonymous"), nano-units.
    void cost(std::string_view consumer, std::uint64_t nano);
    // One Redis call of the admission path: kind "admit" (with whatever rode along), "flush"
    // (settles and usage records alone, when no admission came to carry them), "renew" (lease
    // slices topped up ahead of need) or "peek".
    void redis_call(std::string_view kind, std::uint64_t carried);
    // A request refused with 429 concurrency_limit: its consumer was at the tier's max_concurrent.
    void concurrency_refused(std::string_view tier);
    // Settles and usage records dropped because the backlog was full while Redis was away.
    void backlog_dropped(std::uint64_t operations);
    // A request admitted from this instance's lease slices, without a Redis call.
    void lease_admitted();
    // The instances sharing the Redis at the last heartbeat (set on each /metrics read; the
    // gauge appears with the first call).
    void fleet_size(unsigned live);

private:
    prometheus::Family<prometheus::Counter>& reservations_;
    prometheus::Family<prometheus::Counter>& reserved_tokens_;
    prometheus::Family<prometheus::Counter>& settled_tokens_;
    prometheus::Family<prometheus::Counter>& cost_;
    prometheus::Family<prometheus::Counter>& redis_calls_;
    prometheus::Family<prometheus::Counter>& carried_;
    prometheus::Family<prometheus::Counter>& dropped_;
    prometheus::Family<prometheus::Counter>& concurrency_refused_;
    prometheus::Counter& lease_admitted_;  // resolved once: counted on the hot path
    prometheus::Registry& registry_;
    prometheus::Gauge* fleet_size_ = nullptr;
    std::uint64_t owner_;  // keys the per-thread handle caches (handle_cache.hpp)
};

}  // namespace llmgw::observability
