// The scheduling fields: endpoint capacity, a backend's queue and fallbacks, a tier's
// priority, weight and per-consumer concurrency cap; mistakes name the key and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include <nlohmann/json.hpp>

#include "llmgw/config/config_json.hpp"
#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::load_string;
using llmgw::config::testing::load_error;
using testing::HasSubstr;

namespace {

const std::string routes = "routes: [ { name: chat, backend: big } ]\n";

}  // namespace

TEST(SchedulingConfig, CapacityQueueAndFallbacksAreRead) {
    const auto config = load_string(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1", max_concurrent: 8 }, { url: "http://127.0.0.1:2" } ]
    queue: { max_waiting: 50, timeout: 2s }
    fallbacks: [ small, { backend: tiny, model: tiny-1b } ]
  small: { endpoints: [ { url: "http://127.0.0.1:3" } ] }
  tiny: { endpoints: [ { url: "http://127.0.0.1:4" } ] }
)");
    const auto& big = config.backends[0];
    EXPECT_EQ(big.endpoints[0].max_concurrent, 8u);
    EXPECT_EQ(big.endpoints[1].max_concurrent, 0u);  // unlimited
    ASSERT_TRUE(big.queue);
    EXPECT_EQ(big.queue->max_waiting, 50u);
    EXPECT_EQ(big.queue->timeout, 2s);
    ASSERT_EQ(big.fallbacks.size(), 2u);
    EXPECT_EQ(big.fallbacks[0].backend, "small");
    EXPECT_FALSE(big.fallbacks[0].model);
    EXPECT_EQ(big.fallbacks[1].backend, "tiny");
    EXPECT_EQ(big.fallbacks[1].model, "tiny-1b");
    EXPECT_FALSE(config.backends[1].queue);

    const auto shown = llmgw::config::to_redacted_json(config);
    EXPECT_EQ(shown["backends"]["big"]["fallbacks"][0], "small");
    EXPECT_EQ(shown["backends"]["big"]["fallbacks"][1]["model"], "tiny-1b");
    EXPECT_EQ(shown["backends"]["big"]["queue"]["max_waiting"], 50);
}

TEST(SchedulingConfig, QueueDefaultsAreTheDesignsOnes) {
    const auto config = load_string(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1", max_concurrent: 8 } ]
    queue: {}
)");
    ASSERT_TRUE(config.backends[0].queue);
    EXPECT_EQ(config.backends[0].queue->max_waiting, 1000u);
    EXPECT_EQ(config.backends[0].queue->timeout, 30s);
}

TEST(SchedulingConfig, AQueueWithoutACapacityIsRefused) {
    const auto error = load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    queue: { timeout: 1s }
)");
    EXPECT_THAT(error, HasSubstr("t.yaml:5"));
    EXPECT_THAT(error, HasSubstr("backends.big.queue"));
    EXPECT_THAT(error, HasSubstr("needs a capacity"));
    // The backend-wide limit is a capacity too.
    EXPECT_EQ(load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    circuit_breaker: { max_concurrent: 4 }
    queue: { timeout: 1s }
)"),
              "");
}

TEST(SchedulingConfig, FallbacksMustNameOtherExistingBackendsOnce) {
    const auto unknown = load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    fallbacks: [ nowhere ]
)");
    EXPECT_THAT(unknown, HasSubstr("t.yaml:5"));
    EXPECT_THAT(unknown, HasSubstr("unknown backend \"nowhere\""));
    EXPECT_THAT(load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    fallbacks: [ big ]
)"),
                HasSubstr("cannot fall back to itself"));
    EXPECT_THAT(load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    fallbacks: [ small, { backend: small } ]
  small: { endpoints: [ { url: "http://127.0.0.1:2" } ] }
)"),
                HasSubstr("\"small\" is listed twice"));
    EXPECT_THAT(load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
    fallbacks: [ { model: x } ]
)"),
                HasSubstr("missing required key \"backend\""));
}

TEST(SchedulingConfig, EndpointCapacityZeroIsRefused) {
    EXPECT_THAT(load_error(routes + R"(backends:
  big:
    endpoints: [ { url: "http://127.0.0.1:1", max_concurrent: 0 } ]
)"),
                HasSubstr("max_concurrent: expected an integer from 1"));
}

TEST(SchedulingConfig, TierPriorityWeightAndConcurrencyCap) {
    const auto config = load_string(routes + R"(backends: { big: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
tiers:
  pro: { priority: 10, weight: 4, max_concurrent: 20, rate: { requests_per_minute: 5 } }
  free: {}
)");
    ASSERT_EQ(config.tiers.size(), 2u);
    EXPECT_EQ(config.tiers[0].priority, 10u);
    EXPECT_EQ(config.tiers[0].weight, 4u);
    EXPECT_EQ(config.tiers[0].max_concurrent, 20u);
    EXPECT_EQ(config.tiers[0].limits.size(), 1u);
    EXPECT_EQ(config.tiers[1].priority, 0u);
    EXPECT_EQ(config.tiers[1].weight, 1u);
    EXPECT_EQ(config.tiers[1].max_concurrent, 0u);
    const auto shown = llmgw::config::to_redacted_json(config);
    EXPECT_EQ(shown["tiers"]["pro"]["weight"], 4);
    EXPECT_EQ(shown["tiers"]["pro"]["max_concurrent"], 20);

    EXPECT_THAT(load_error(routes + R"(backends: { big: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
tiers:
  pro: { weight: 0 }
)"),
                HasSubstr("t.yaml:4"));
}
