// Endpoint choice skips unhealthy, open and already tried endpoints; the retry budget.
#include "llmgw/upstream/backend_state.hpp"

#include <gtest/gtest.h>

#include "llmgw/config/loader.hpp"

using namespace std::chrono_literals;
using llmgw::upstream::BackendState;

namespace {
llmgw::config::Config three_endpoints(const std::string& balancer = "round_robin") {
    return llmgw::config::load_string(R"(backends:
  pool:
    balancer: )" + balancer + R"(
    endpoints: [ { url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2" }, { url: "http://127.0.0.1:3" } ]
    circuit_breaker: { failure_threshold: 1, open_for: 10s }
routes: [ { name: r, backend: pool } ]
)");
}
}  // namespace

TEST(BackendState, SkipsUnhealthyEndpoints) {
    const auto config = three_endpoints();
    BackendState backend(config.backends[0]);
    backend.endpoint(1).healthy = false;
    const std::vector<bool> none(3, false);
    for (int i = 0; i < 6; ++i)
        EXPECT_NE(backend.pick(none, BackendState::clock::now())->index, 1u);
}

TEST(BackendState, SkipsOpenCircuitsAndTriedEndpoints) {
    const auto config = three_endpoints();
    BackendState backend(config.backends[0]);
    const auto now = BackendState::clock::now();
    auto& breaker = backend.endpoint(0).breaker;
    breaker.record_failure(breaker.admit(now), now);  // threshold 1: open
    std::vector<bool> tried(3, false);
    tried[2] = true;
    for (int i = 0; i < 4; ++i) EXPECT_EQ(backend.pick(tried, now)->index, 1u);
    tried[1] = true;
    EXPECT_FALSE(backend.pick(tried, now).has_value());
    EXPECT_EQ(backend.seconds_until_available(now), 1);  // healthy closed endpoints exist
    for (std::size_t i = 1; i < 3; ++i) {
        auto& other = backend.endpoint(i).breaker;
        other.record_failure(other.admit(now), now);
    }
    EXPECT_GE(backend.seconds_until_available(now), 10);  // every circuit open for 10 s
}

TEST(BackendState, LeastRequestTakesTheLessLoadedOfTwo) {
    const auto config = three_endpoints("least_request");
    BackendState backend(config.backends[0]);
    backend.endpoint(0).in_flight = 5;
    backend.endpoint(1).in_flight = 5;
    backend.endpoint(2).in_flight = 0;
    const std::vector<bool> none(3, false);
    int idle_picked = 0;
    for (int i = 0; i < 300; ++i)
        idle_picked += backend.pick(none, BackendState::clock::now())->index == 2;
    // Endpoint 2 loses only when both random candidates are the two busy ones (1 in 3).
    EXPECT_GT(idle_picked, 150);
}

TEST(BackendState, RetryBudgetAllowsAFloorThenAShareOfInFlight) {
    const auto config = three_endpoints();
    BackendState backend(config.backends[0]);
    for (int i = 0; i < BackendState::retry_budget_floor; ++i)
        EXPECT_TRUE(backend.try_start_retry());
    EXPECT_FALSE(backend.try_start_retry());
    backend.in_flight = 100;  // 20% of 100
    int more = 0;
    while (backend.try_start_retry()) ++more;
    EXPECT_EQ(more + BackendState::retry_budget_floor, 20);
    backend.end_retry();
    EXPECT_TRUE(backend.try_start_retry());
}
