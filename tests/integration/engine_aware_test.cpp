// Engine-aware balancing and affinity through the real gateway and real fake model servers:
// a reported queue steers new requests away within a scrape interval and back when it
// drains; failing or stale metrics fall back to the gateway's own counts; conversations stay
// on their endpoint and spill when it goes over its bound.
#include <gtest/gtest.h>

#include <future>
#include <map>

#include "engine_test_support.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

TEST(EngineAware, ALongQueueSendsNewRequestsElsewhereWithinAScrapeAndBackWhenItDrains) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(two_endpoint_backend(a, b, engine_aware));
    const auto a_label = "endpoint=\"" + a.url() + "\"";
    ASSERT_TRUE(eventually(
        [&] { return gateway_metric(gateway, "llmgw_engine_requests_waiting", a_label) == 0; }));
    // Equal scores: both share the work (a request may still be ending on one when the
    // next is picked, so the split need not be exact).
    auto even = spread(gateway, 20);
    EXPECT_GE(even["a"], 5);
    EXPECT_GE(even["b"], 5);

    control(a, "/fake/engine/waiting/40");
    const auto set_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually(
        [&] { return gateway_metric(gateway, "llmgw_engine_requests_waiting", a_label) == 40; }));
    // One interval (200 ms) plus the scrape itself and the poll.
    EXPECT_LT(std::chrono::steady_clock::now() - set_at, 700ms);
    auto away = spread(gateway, 20);
    EXPECT_EQ(away["a"], 0);
    EXPECT_EQ(away["b"], 20);

    control(a, "/fake/engine/waiting/0");
    ASSERT_TRUE(eventually(
        [&] { return gateway_metric(gateway, "llmgw_engine_requests_waiting", a_label) == 0; }));
    auto back = spread(gateway, 20);
    EXPECT_GE(back["a"], 5);
    EXPECT_GE(back["b"], 5);
}

TEST(EngineAware, FailingOrStaleMetricsFallBackToOwnCountsWithoutErrors) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(two_endpoint_backend(a, b, engine_aware));
    const auto a_label = "endpoint=\"" + a.url() + "\"";
    control(a, "/fake/engine/waiting/40");
    ASSERT_TRUE(eventually(
        [&] { return gateway_metric(gateway, "llmgw_engine_requests_waiting", a_label) == 40; }));
    EXPECT_EQ(spread(gateway, 10)["a"], 0);

    // The metrics endpoint fails: the last figures age out after stale_after (1 s), and the
    // gateway's own counts decide alone; no request fails meanwhile.
    control(a, "/fake/engine/metrics/fail");
    ASSERT_TRUE(eventually([&] {
        return gateway_metric(gateway, "llmgw_engine_metrics_age_seconds", a_label) > 1.0;
    }));
    auto failing = spread(gateway, 20);
    EXPECT_GE(failing["a"], 5);
    EXPECT_GE(failing["b"], 5);
    EXPECT_GT(gateway_metric(gateway, "llmgw_engine_scrape_failures_total", a_label), 0);

    // A body without the engine's names counts as a failure too.
    control(a, "/fake/engine/metrics/garbage");
    const auto failures = gateway_metric(gateway, "llmgw_engine_scrape_failures_total", a_label);
    ASSERT_TRUE(eventually([&] {
        return gateway_metric(gateway, "llmgw_engine_scrape_failures_total", a_label) > failures;
    }));
    EXPECT_GE(spread(gateway, 10)["a"], 2);
    // The health check view is untouched: busy or unreadable is not dead.
    const auto endpoints = http_request(gateway.admin_port(), {"GET", "/admin/backends"})
                               .json()["backends"][0]["endpoints"];
    EXPECT_EQ(endpoints[0]["healthy"], true);
}

namespace {

// A chat turn of conversation `id` with `turns` exchanges of history, each ~200 bytes.
nlohmann::json conversation_turn(int id, int turns) {
    nlohmann::json messages = nlohmann::json::array();
    messages.push_back({{"role", "system"}, {"content", std::string(300, 's')}});  // shared by all
    for (int t = 0; t < turns; ++t) {
        messages.push_back({{"role", "user"},
                            {"content", "conversation " + std::to_string(id) + " question " +
                                            std::to_string(t) + std::string(160, 'q')}});
        messages.push_back({{"role", "assistant"}, {"content", std::string(200, 'a')}});
    }
    messages.push_back({{"role", "user"}, {"content", "next " + std::to_string(id)}});
    return {{"model", "fake-model"}, {"messages", messages}};
}

const std::string prefix_affinity =
    "    balancer: engine_aware\n"
    "    affinity: { by: prefix, block_bytes: 64, max_load: 1.25 }\n";

// Runs conversations `first`..`first + n - 1` for `turns` turns each, one after another;
// checks that every turn of a conversation went to the same endpoint, and counts the homes.
std::map<std::string, int> run_conversations(const RunningGateway& gateway, int first, int n,
                                             int turns) {
    std::map<std::string, int> homes;
    for (int id = first; id < first + n; ++id) {
        std::string home;
        for (int turn = 1; turn <= turns; ++turn) {
            const auto response = gateway.post("/v1/chat/completions", conversation_turn(id, turn));
            EXPECT_EQ(response.status, 200);
            const auto server = response.header("x-fake-server");
            if (home.empty()) home = server;
            EXPECT_EQ(server, home) << "conversation " << id << " turn " << turn;
        }
        ++homes[home];
    }
    return homes;
}

}  // namespace

TEST(Affinity, ConversationsStayOnTheirEndpoint) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(two_endpoint_backend(a, b, prefix_affinity));
    run_conversations(gateway, 0, 6, 5);
    EXPECT_GE(gateway_metric(gateway, "llmgw_affinity_total", "outcome=\"hit\""), 6 * 4);
}

TEST(Affinity, AConversationSpillsWhenItsEndpointGoesOverTheBound) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(two_endpoint_backend(a, b, prefix_affinity));
    const auto first = gateway.post("/v1/chat/completions", conversation_turn(7, 3));
    ASSERT_EQ(first.status, 200);
    // Six slow requests of the same conversation at once: the bound (1.25 × the mean) lets
    // its endpoint take only some of them; the rest spill to the other one.
    std::vector<std::future<HttpResponse>> pending;
    for (int i = 0; i < 6; ++i) {
        pending.push_back(std::async(std::launch::async, [&] {
            HttpRequest request{"POST",
                                "/v1/chat/completions",
                                {{"content-type", "application/json"}, {"x-fake-delay-ms", "800"}},
                                conversation_turn(7, 3).dump()};
            return http_request(gateway.port(), request);
        }));
        // Each is in flight before the next one is picked.
        ASSERT_TRUE(eventually([&] { return in_flight(gateway) == i + 1; }));
    }
    std::map<std::string, int> count;
    for (auto& response : pending) {
        const auto done = response.get();
        EXPECT_EQ(done.status, 200);
        ++count[done.header("x-fake-server")];
    }
    EXPECT_GE(count[first.header("x-fake-server")], 2);
    EXPECT_GE(count[first.header("x-fake-server") == "a" ? "b" : "a"], 1);
    EXPECT_GE(gateway_metric(gateway, "llmgw_affinity_total", "outcome=\"spill\""), 1);
    // Both endpoints now hold the shared system prompt: new conversations that share only it
    // spread over both (and each still stays on its own endpoint).
    const auto homes = run_conversations(gateway, 100, 6, 3);
    EXPECT_GE(homes.count("a") ? homes.at("a") : 0, 2);
    EXPECT_GE(homes.count("b") ? homes.at("b") : 0, 2);
}

TEST(Affinity, ASessionHeaderKeepsItsRequestsTogether) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(
        two_endpoint_backend(a, b, "    affinity: { by: header, header: x-session-id }\n"));
    std::map<std::string, int> homes;
    for (int session = 0; session < 40; ++session) {
        const HttpHeaders headers{{"x-session-id", "session-" + std::to_string(session)}};
        const auto home =
            gateway.post("/v1/chat/completions", chat_body(), headers).header("x-fake-server");
        for (int i = 0; i < 2; ++i)
            EXPECT_EQ(
                gateway.post("/v1/chat/completions", chat_body(), headers).header("x-fake-server"),
                home)
                << "session " << session;
        ++homes[home];
    }
    // The ring spreads the sessions over both endpoints (the ring hashes the endpoints' URLs,
    // whose ports change each run: 40 sessions keep a fair split far above the bound).
    EXPECT_GE(homes["a"], 6);
    EXPECT_GE(homes["b"], 6);
}
