// More of engine-aware routing through the real gateway and real fake model servers: LoRA
// adapters go where the engine runs them, affinity by consumer (API key) keeps each consumer
// on one endpoint and spills past its bound, and Triton's metrics are read from their own
// port.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <vector>

#include "engine_test_support.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

TEST(EngineAware, RequestsNamingALoraAdapterGoWhereTheEngineRunsIt) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(two_endpoint_backend(a, b, engine_aware));
    control(b, "/fake/engine/lora/sql-lora,chat-lora");
    ASSERT_TRUE(scraped_again(b));
    auto adapter = chat_body();
    adapter["model"] = "sql-lora";
    EXPECT_EQ(spread(gateway, 20, adapter)["b"], 20);
    // The base model is on both: it still spreads.
    auto base = spread(gateway, 20);
    EXPECT_GE(base["a"], 5);
    EXPECT_GE(base["b"], 5);

    // The adapter moves: requests naming it follow within a scrape.
    control(b, "/fake/engine/lora/off");
    control(a, "/fake/engine/lora/sql-lora");
    ASSERT_TRUE(scraped_again(a));
    ASSERT_TRUE(scraped_again(b));
    EXPECT_EQ(spread(gateway, 20, adapter)["a"], 20);
    // An adapter no endpoint runs gets no bonus anywhere.
    adapter["model"] = "unknown-lora";
    auto unknown = spread(gateway, 20, adapter);
    EXPECT_GE(unknown["a"], 5);
    EXPECT_GE(unknown["b"], 5);
}

namespace {

constexpr int consumers = 40;

std::string consumer_key(int i) {
    return "sk-test-consumer-" + std::to_string(i) + "-0123456789";
}

// Consumers c0..c39 with a key each, on a backend with affinity by consumer.
std::string consumer_affinity_config(const FakeModel& a, const FakeModel& b) {
    std::string yaml = "tiers:\n  free: {}\nconsumers:\n";
    for (int i = 0; i < consumers; ++i)
        yaml += "  - { name: c" + std::to_string(i) + ", tier: free, keys: [ { sha256: \"" +
                sha256_hex(consumer_key(i)) + "\" } ] }\n";
    return yaml + two_endpoint_backend(a, b,
                                       "    balancer: engine_aware\n"
                                       "    affinity: { by: consumer, max_load: 1.25 }\n");
}

HttpResponse chat_as(const RunningGateway& gateway, int consumer, HttpHeaders headers = {}) {
    headers.emplace_back("authorization", "Bearer " + consumer_key(consumer));
    headers.emplace_back("content-type", "application/json");
    return http_request(gateway.port(),
                        {"POST", "/v1/chat/completions", headers, chat_body().dump()});
}

}  // namespace

TEST(Affinity, EachConsumerStaysOnOneEndpointAndConsumersSpread) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(consumer_affinity_config(a, b));
    std::map<std::string, int> homes;
    for (int consumer = 0; consumer < consumers; ++consumer) {
        const auto first = chat_as(gateway, consumer);
        ASSERT_EQ(first.status, 200) << first.body;
        const auto home = first.header("x-fake-server");
        for (int i = 0; i < 2; ++i)
            EXPECT_EQ(chat_as(gateway, consumer).header("x-fake-server"), home)
                << "consumer " << consumer;
        ++homes[home];
    }
    // The ring hashes the consumers over both endpoints (its points come from the endpoints'
    // URLs, whose ports change each run: 40 consumers keep a split far from one-sided).
    EXPECT_GE(homes["a"], 6);
    EXPECT_GE(homes["b"], 6);
    // One request at a time never goes over the bound: every pick was an affinity hit.
    EXPECT_EQ(gateway_metric(gateway, "llmgw_affinity_total", "outcome=\"hit\""), consumers * 3);
    EXPECT_LE(gateway_metric(gateway, "llmgw_affinity_total", "outcome=\"spill\""), 0);
}

TEST(Affinity, AConsumerSpillsWhenItsEndpointGoesOverTheBoundAndComesBack) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(consumer_affinity_config(a, b));
    const auto home = chat_as(gateway, 7).header("x-fake-server");
    ASSERT_FALSE(home.empty());
    // Six slow requests of the consumer at once: its endpoint takes them while its load is at
    // most 1.25 × the mean; the rest spill to the balancer, which picks the idle endpoint.
    std::vector<std::future<HttpResponse>> pending;
    for (int i = 0; i < 6; ++i) {
        pending.push_back(std::async(std::launch::async, [&] {
            return chat_as(gateway, 7, {{"x-fake-delay-ms", "800"}});
        }));
        ASSERT_TRUE(eventually([&] { return in_flight(gateway) == i + 1; }));
    }
    std::map<std::string, int> count;
    for (auto& response : pending) {
        const auto done = response.get();
        EXPECT_EQ(done.status, 200);
        ++count[done.header("x-fake-server")];
    }
    EXPECT_GE(count[home], 3);
    EXPECT_GE(count[home == "a" ? "b" : "a"], 1);
    EXPECT_GE(gateway_metric(gateway, "llmgw_affinity_total", "outcome=\"spill\""), 1);
    // Once the load is back within the bound, the consumer is home again.
    ASSERT_TRUE(eventually([&] { return in_flight(gateway) == 0; }));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(chat_as(gateway, 7).header("x-fake-server"), home);
}

TEST(EngineMetrics, TritonsMetricsAreReadFromTheirOwnPortOfTheEndpointsHost) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    // Stands in for Triton's metrics port (8002) of the endpoints' host, 127.0.0.1.
    auto metrics = FakeModel::start("triton-metrics");
    control(metrics, "/fake/engine/format/triton");
    control(metrics, "/fake/engine/waiting/40");
    auto gateway = RunningGateway::start(
        two_endpoint_backend(a, b,
                             "    balancer: engine_aware\n    engine: triton\n"
                             "    engine_metrics: { port: " +
                                 std::to_string(metrics.port()) +
                                 ", interval: 200ms, timeout: 300ms, stale_after: 1s }\n"));
    for (const auto* endpoint : {&a, &b}) {
        const auto label = "endpoint=\"" + endpoint->url() + "\"";
        ASSERT_TRUE(eventually([&] {
            return gateway_metric(gateway, "llmgw_engine_requests_waiting", label) == 40;
        })) << label;
    }
    control(metrics, "/fake/engine/waiting/3");
    ASSERT_TRUE(eventually([&] {
        return gateway_metric(gateway, "llmgw_engine_requests_waiting",
                              "endpoint=\"" + a.url() + "\"") == 3;
    }));
    // Both endpoints' scrapes saw 40, then a later one saw 3.
    EXPECT_GE(metrics_reads(metrics), 3);
    // The inference ports were never scraped, and no scrape failed.
    EXPECT_EQ(metrics_reads(a), 0);
    EXPECT_EQ(metrics_reads(b), 0);
    EXPECT_LE(gateway_metric(gateway, "llmgw_engine_scrape_failures_total",
                             "endpoint=\"" + a.url() + "\""),
              0);
}
