// The engine fields of a backend: engine_metrics (its port above all) and affinity.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/config/config_json.hpp"
#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::load_string;
using llmgw::config::testing::load_error;
using testing::HasSubstr;

namespace {

std::string with_backend(const std::string& fields) {
    return "backends:\n  b:\n    endpoints: [ { url: \"http://127.0.0.1:8000\" } ]\n" + fields +
           "routes: [ { name: r, backend: b } ]\n";
}

TEST(EngineSections, MetricsAreReadFromTheEndpointsOwnPortByDefault) {
    const auto config = load_string(with_backend("    engine: triton\n"));
    const auto& metrics = config.backends.at(0).engine_metrics;
    EXPECT_EQ(metrics.port, 0);
    EXPECT_EQ(metrics.path, "/metrics");
    EXPECT_EQ(metrics.interval, 1s);
    EXPECT_EQ(metrics.timeout, 500ms);
    EXPECT_EQ(metrics.stale_after, 5s);
    // /admin/config shows no port that was not written.
    const auto shown = llmgw::config::to_redacted_json(config)["backends"]["b"]["engine_metrics"];
    EXPECT_FALSE(shown.contains("port")) << shown.dump();
}

TEST(EngineSections, ReadsTheMetricsPort) {
    const auto config = load_string(with_backend(
        "    engine: triton\n    engine_metrics: { port: 8002, path: /metrics, interval: 2s }\n"));
    const auto& metrics = config.backends.at(0).engine_metrics;
    EXPECT_EQ(metrics.port, 8002);
    EXPECT_EQ(metrics.interval, 2s);
    const auto shown = llmgw::config::to_redacted_json(config)["backends"]["b"]["engine_metrics"];
    EXPECT_EQ(shown["port"], 8002);
}

TEST(EngineSections, RefusesAPortOutsideOneTo65535NamingKeyAndLine) {
    for (const std::string bad : {"0", "65536", "-1", "http", "8002.5"}) {
        const auto error = load_error(
            with_backend("    engine: triton\n    engine_metrics:\n      port: " + bad + "\n"));
        EXPECT_THAT(error, HasSubstr("t.yaml:6: backends.b.engine_metrics.port: expected an "
                                     "integer from 1 to 65535"))
            << bad << ": " << error;
    }
}

TEST(EngineSections, ReadsAffinityByConsumer) {
    const auto config = load_string(with_backend(
        "    balancer: engine_aware\n    affinity: { by: consumer, max_load: 1.5 }\n"));
    const auto& affinity = config.backends.at(0).affinity;
    ASSERT_TRUE(affinity);
    EXPECT_EQ(affinity->by, llmgw::config::AffinityConfig::By::consumer);
    EXPECT_DOUBLE_EQ(affinity->max_load, 1.5);
    EXPECT_THAT(load_error(with_backend("    affinity: { by: consumer, max_load: 1 }\n")),
                HasSubstr("max_load"));
}

}  // namespace
