// LimitMetrics' Redis call counters: resolved once per thread (handle_cache.hpp), and still
// counted into each metrics object's own registry, per kind.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <optional>
#include <string>

#include "llmgw/observability/limit_metrics.hpp"

namespace {

// The value of `family`'s child labelled kind=`kind`; nullopt when there is none.
std::optional<double> counter(prometheus::Registry& registry, const std::string& family,
                              const std::string& kind) {
    for (const auto& f : registry.Collect()) {
        if (f.name != family) continue;
        for (const auto& m : f.metric)
            for (const auto& label : m.label)
                if (label.name == "kind" && label.value == kind) return m.counter.value;
    }
    return std::nullopt;
}

TEST(LimitMetrics, RedisCallsAreCountedByKindIntoEachObjectsOwnRegistry) {
    prometheus::Registry first_registry, second_registry;
    llmgw::observability::LimitMetrics first(first_registry), second(second_registry);
    first.redis_call("admit", 0);
    first.redis_call("admit", 3);
    first.redis_call("flush", 2);
    // Another object on the same thread: its own children, not the first one's kept handles.
    second.redis_call("admit", 0);
    first.redis_call("admit", 4);

    EXPECT_EQ(counter(first_registry, "llmgw_redis_admission_calls_total", "admit"), 3.0);
    EXPECT_EQ(counter(first_registry, "llmgw_redis_admission_calls_total", "flush"), 1.0);
    EXPECT_EQ(counter(first_registry, "llmgw_redis_carried_operations_total", "admit"), 7.0);
    EXPECT_EQ(counter(first_registry, "llmgw_redis_carried_operations_total", "flush"), 2.0);
    EXPECT_EQ(counter(second_registry, "llmgw_redis_admission_calls_total", "admit"), 1.0);
    // Nothing carried yet: no carried child at all, as before.
    EXPECT_EQ(counter(second_registry, "llmgw_redis_carried_operations_total", "admit"), std::nullopt);
}

}  // namespace
