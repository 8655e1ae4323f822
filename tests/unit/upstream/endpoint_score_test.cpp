// The engine-aware score: own counts always, engine figures only when fresh, adapters.
#include "llmgw/upstream/endpoint_score.hpp"

#include <gtest/gtest.h>

#include <vector>

using llmgw::upstream::endpoint_score;
using llmgw::upstream::EndpointLoad;
using llmgw::upstream::EngineView;
using llmgw::upstream::lowest_score;
using llmgw::upstream::within_bound;

TEST(EndpointScore, OwnCountsAloneWithoutEngineFigures) {
    EXPECT_EQ(endpoint_score({.requests = 3}), 3.0);
    EXPECT_EQ(endpoint_score({.requests = 1, .tokens = 8192}), 3.0);
}

TEST(EndpointScore, AQueueAtTheEngineOutweighsAFewOwnRequests) {
    std::vector<EndpointLoad> loads{
        {.requests = 0, .engine = EngineView{.waiting = 20, .running = 32, .kv_usage = 0.9}},
        {.requests = 5, .engine = EngineView{.waiting = 0, .running = 5, .kv_usage = 0.1}}};
    EXPECT_EQ(lowest_score(loads, 0), 1u);
}

TEST(EndpointScore, AFullerKvCacheScoresHigher) {
    EXPECT_LT(endpoint_score({.engine = EngineView{.kv_usage = 0.2}}),
              endpoint_score({.engine = EngineView{.kv_usage = 0.95}}));
}

TEST(EndpointScore, ALoadedAdapterIsPreferredAtEqualLoad) {
    std::vector<EndpointLoad> loads{{.requests = 2, .engine = EngineView{}},
                                    {.requests = 2, .engine = EngineView{}, .runs_adapter = true}};
    EXPECT_EQ(lowest_score(loads, 0), 1u);
    // ...but not when the adapter's endpoint is much busier.
    loads[1].requests = 8;
    EXPECT_EQ(lowest_score(loads, 0), 0u);
}

TEST(EndpointScore, AdapterBonusNeedsFreshFigures) {
    EXPECT_EQ(endpoint_score({.requests = 2, .runs_adapter = true}), 2.0);
}

TEST(EndpointScore, TiesGoToTheFirstFromTheRotatingStart) {
    const std::vector<EndpointLoad> loads(3);
    EXPECT_EQ(lowest_score(loads, 0), 0u);
    EXPECT_EQ(lowest_score(loads, 1), 1u);
    EXPECT_EQ(lowest_score(loads, 5), 2u);
}

TEST(EndpointScore, IneligibleEndpointsAreNeverPicked) {
    std::vector<EndpointLoad> loads{{.requests = 0, .eligible = false}, {.requests = 9}};
    EXPECT_EQ(lowest_score(loads, 0), 1u);
    loads[1].eligible = false;
    EXPECT_FALSE(lowest_score(loads, 0));
}

TEST(BoundedLoad, HoldsUpToMaxLoadTimesTheMean) {
    // Two endpoints, nothing in flight: the first request always fits.
    EXPECT_TRUE(within_bound(0, 0, 2, 1.25));
    // 1 of 1 in flight: ceil(1.25 × 2 / 2) = 2, a second fits.
    EXPECT_TRUE(within_bound(1, 1, 2, 1.25));
    // 2 of 2 on one endpoint: ceil(1.25 × 3 / 2) = 2, a third does not.
    EXPECT_FALSE(within_bound(2, 2, 2, 1.25));
    // 10 of 16 over 2: ceil(1.25 × 17 / 2) = 11: one more fits; 12 of 18: ceil(11.875) = 12,
    // a 13th does not.
    EXPECT_TRUE(within_bound(10, 16, 2, 1.25));
    EXPECT_FALSE(within_bound(12, 18, 2, 1.25));
    EXPECT_FALSE(within_bound(0, 0, 0, 1.25));
}
