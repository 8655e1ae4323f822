// The circuit breaker's state machine, driven with explicit times.
#include "llmgw/upstream/circuit_breaker.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using llmgw::upstream::CircuitBreaker;
using State = CircuitBreaker::State;

namespace {
struct CircuitBreakerTest : ::testing::Test {
    CircuitBreakerTest() {
        config.failure_threshold = 3;
        config.open_for = 10s;
        config.half_open_requests = 1;
    }
    void fail_times(CircuitBreaker& breaker, int n) {
        for (int i = 0; i < n; ++i) breaker.record_failure(breaker.admit(t0), t0);
    }
    llmgw::config::CircuitBreakerConfig config;
    CircuitBreaker::clock::time_point t0 = CircuitBreaker::clock::now();
};
}  // namespace

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 2);
    EXPECT_EQ(breaker.state(t0), State::closed);
    fail_times(breaker, 1);
    EXPECT_EQ(breaker.state(t0), State::open);
    EXPECT_FALSE(breaker.admit(t0 + 1s).allowed);
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheFailureCount) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 2);
    breaker.record_success(breaker.admit(t0));
    fail_times(breaker, 2);
    EXPECT_EQ(breaker.state(t0), State::closed);
}

TEST_F(CircuitBreakerTest, HalfOpensAfterOpenForAndOneGoodProbeCloses) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 3);
    const auto probe = breaker.admit(t0 + 10s);
    ASSERT_TRUE(probe.allowed);
    EXPECT_TRUE(probe.probe);
    EXPECT_FALSE(breaker.admit(t0 + 10s).allowed);  // one probe at a time
    breaker.record_success(probe);
    EXPECT_EQ(breaker.state(t0 + 10s), State::closed);
    EXPECT_TRUE(breaker.admit(t0 + 10s).allowed);
}

TEST_F(CircuitBreakerTest, AFailedProbeReopensForLongerEachTimeUpToACap) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 3);  // open until t0+10s
    auto now = t0 + 10s;
    breaker.record_failure(breaker.admit(now), now);  // open for 20 s
    EXPECT_FALSE(breaker.admit(now + 19s).allowed);
    now += 20s;
    breaker.record_failure(breaker.admit(now), now);  // 40 s
    EXPECT_FALSE(breaker.admit(now + 39s).allowed);
    now += 40s;
    breaker.record_failure(breaker.admit(now), now);  // 80 s (8x cap)
    now += 80s;
    breaker.record_failure(breaker.admit(now), now);  // still 80 s
    EXPECT_FALSE(breaker.admit(now + 79s).allowed);
    EXPECT_TRUE(breaker.admit(now + 80s).allowed);
}

TEST_F(CircuitBreakerTest, AHangingProbeCannotKeepItHalfOpen) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 3);
    const auto hung = breaker.admit(t0 + 10s);
    ASSERT_TRUE(hung.probe);
    // The probe never reports. After open_for it counts as failed and the circuit reopens...
    EXPECT_FALSE(breaker.admit(t0 + 21s).allowed);
    EXPECT_EQ(breaker.state(t0 + 21s), State::open);
    // ...and a later probe can close it; the hung probe's late answer changes nothing.
    const auto next = breaker.admit(t0 + 21s + 20s);
    ASSERT_TRUE(next.probe);
    breaker.record_failure(hung, t0 + 41s);
    breaker.record_success(next);
    EXPECT_EQ(breaker.state(t0 + 41s), State::closed);
}

TEST_F(CircuitBreakerTest, AProbeWhoseClientLeftGivesItsSlotBack) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 3);
    const auto probe = breaker.admit(t0 + 10s);
    ASSERT_TRUE(probe.probe);
    EXPECT_FALSE(breaker.may_admit(t0 + 10s));
    breaker.release(probe);
    EXPECT_TRUE(breaker.may_admit(t0 + 10s));
    EXPECT_TRUE(breaker.admit(t0 + 10s).probe);
}

TEST_F(CircuitBreakerTest, AHungProbeIsReachableThroughMayAdmit) {
    CircuitBreaker breaker(config);
    fail_times(breaker, 3);
    ASSERT_TRUE(breaker.admit(t0 + 10s).probe);
    EXPECT_FALSE(breaker.may_admit(t0 + 15s));
    EXPECT_TRUE(breaker.may_admit(t0 + 21s));  // so admit() gets to count it as failed
}
