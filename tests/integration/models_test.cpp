// GET /v1/models answered by the gateway (`models: gateway`): the models a consumer may reach,
// from the routes' model matches and each backend's own list, fetched in the background.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr const char* pro_key = "sk-models-pro-key";
constexpr const char* free_key = "sk-models-free-key";

std::string config(const FakeModel& a, const FakeModel& b) {
    return "tiers: { free: {}, pro: {} }\n"
           "consumers:\n"
           "  - { name: acme, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(pro_key) +
           "\" } ] }\n"
           "  - { name: bob, tier: free, keys: [ { sha256: \"" +
           sha256_hex(free_key) +
           "\" } ], routes: [llama, secret, models, a-all] }\n"
           "backends:\n"
           "  a: { endpoints: [ { url: \"" +
           a.url() +
           "\" } ] }\n"
           "  b: { endpoints: [ { url: \"" +
           b.url() +
           "\" } ] }\n"
           "routes:\n"
           "  - { name: llama, backend: a, match: { path_prefix: /v1/, model: llama-3-8b } }\n"
           "  - { name: secret, backend: a, match: { path_prefix: /v1/, model: secret-model },"
           " tiers: [pro] }\n"
           "  - { name: models, backend: a, match: { path_prefix: /v1/models }, models: gateway }\n"
           "  - { name: a-all, backend: a, match: { path_prefix: /v1/ } }\n"
           "  - { name: b-all, backend: b, match: { path_prefix: /v1/, headers: { x-b: \"1\" } } "
           "}\n";
}

std::vector<std::string> model_ids(const RunningGateway& gateway, const char* key) {
    const auto answer = http_request(
        gateway.port(), {"GET", "/v1/models", {{"authorization", std::string("Bearer ") + key}}});
    EXPECT_EQ(answer.status, 200) << answer.body;
    std::vector<std::string> ids;
    const auto body = answer.json();
    EXPECT_EQ(body["object"], "list");
    for (const auto& entry : body["data"]) {
        EXPECT_EQ(entry["object"], "model");
        ids.push_back(entry["id"].get<std::string>());
    }
    return ids;
}

}  // namespace

TEST(GatewayModels, ListsTheModelsEachConsumerMayReachWithoutAskingABackendPerRequest) {
    auto a = FakeModel::start("a", {"--model", "fake-a"});
    auto b = FakeModel::start("b", {"--model", "fake-b"});
    auto gateway = RunningGateway::start(config(a, b));
    // The backends' own lists arrive in the background, each in its own time.
    std::vector<std::string> pro;
    ASSERT_TRUE(eventually([&] {
        pro = model_ids(gateway, pro_key);
        return std::find(pro.begin(), pro.end(), "fake-a") != pro.end() &&
               std::find(pro.begin(), pro.end(), "fake-b") != pro.end();
    }));
    EXPECT_EQ(pro, (std::vector<std::string>{"llama-3-8b", "secret-model", "fake-a", "fake-b"}));
    // bob: not the pro-only route, not b-all (outside his allow-list).
    EXPECT_EQ(model_ids(gateway, free_key), (std::vector<std::string>{"llama-3-8b", "fake-a"}));

    const auto fetched = a.stats()["by_path"]["/v1/models"].get<int>();
    for (int i = 0; i < 3; ++i) model_ids(gateway, pro_key);
    EXPECT_EQ(a.stats()["by_path"]["/v1/models"], fetched);
    // Other paths on the route still go to the backend.
    const auto one = http_request(
        gateway.port(),
        {"GET", "/v1/models/fake-a", {{"authorization", std::string("Bearer ") + pro_key}}});
    EXPECT_EQ(one.header("x-fake-server"), "a");
}

TEST(GatewayModels, WithoutTheOptionModelsGoToTheBackendPastModelRoutes) {
    auto a = FakeModel::start("a", {"--model", "fake-a"});
    auto gateway = RunningGateway::start(
        "backends: { a: { endpoints: [ { url: \"" + a.url() +
        "\" } ] } }\n"
        "routes:\n"
        "  - { name: llama, backend: a, match: { path_prefix: /v1/, model: llama-3-8b } }\n"
        "  - { name: rest, backend: a, match: { path_prefix: /v1/ } }\n");
    const auto answer = http_request(gateway.port(), {"GET", "/v1/models"});
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.header("x-fake-server"), "a");
    EXPECT_EQ(answer.json()["data"][0]["id"], "fake-a");
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway.access_log_lines()[0]["route"], "rest");
}

TEST(GatewayModels, AReloadThatAddsTheOptionStartsListingTheKeptBackends) {
    auto a = FakeModel::start("a", {"--model", "fake-a"});
    const auto backends = "backends: { a: { endpoints: [ { url: \"" + a.url() + "\" } ] } }\n";
    auto gateway = RunningGateway::start(
        backends + "routes: [ { name: rest, backend: a, match: { path_prefix: /v1/ } } ]\n");
    EXPECT_FALSE(a.stats()["by_path"].contains("/v1/models"));  // not listed unasked
    gateway.rewrite_config(backends +
                           "routes:\n"
                           "  - { name: models, backend: a, match: { path_prefix: /v1/models },"
                           " models: gateway }\n"
                           "  - { name: rest, backend: a, match: { path_prefix: /v1/ } }\n");
    const auto reloaded = http_request(gateway.admin_port(), {"POST", "/admin/reload"});
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;
    EXPECT_TRUE(eventually([&] {
        const auto answer = http_request(gateway.port(), {"GET", "/v1/models"});
        return answer.header("x-fake-server").empty() &&
               answer.body.find("fake-a") != std::string::npos;
    }));
}
