// The gateway's own model list: route model matches and the backends' fetched lists, filtered
// by the consumer's allow-list and the routes' tiers, each id once.
#include "llmgw/gateway/model_list.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/config/loader.hpp"
#include "llmgw/upstream/model_catalog.hpp"

using namespace llmgw;

namespace {

std::shared_ptr<const config::Config> two_backends() {
    return std::make_shared<const config::Config>(config::load_string(R"(
tiers: { free: {}, pro: {} }
backends:
  a: { endpoints: [ { url: "http://127.0.0.1:1" } ] }
  b: { endpoints: [ { url: "http://127.0.0.1:2" } ] }
routes:
  - { name: llama, backend: a, match: { path_prefix: /v1/, model: llama-3-8b } }
  - { name: secret, backend: a, match: { path_prefix: /v1/, model: secret }, tiers: [pro] }
  - { name: models, backend: a, match: { path_prefix: /v1/models }, models: gateway }
  - { name: a-all, backend: a, match: { path_prefix: /v1/ } }
  - { name: b-all, backend: b, match: { path_prefix: /b/ } }
)"));
}

std::vector<std::string> ids(const std::string& body) {
    std::vector<std::string> out;
    const auto list = nlohmann::json::parse(body);
    EXPECT_EQ(list["object"], "list");
    for (const auto& entry : list["data"]) out.push_back(entry["id"].get<std::string>());
    return out;
}

}  // namespace

TEST(ModelList, IsTheUnionOfRouteModelsAndBackendListsTheConsumerMayReach) {
    gateway::Snapshot snapshot(two_backends(), 1, nullptr);
    snapshot.backend(0).models.replace({{{"id", "a-model"}, {"object", "model"}},
                                        {{"id", "llama-3-8b"}, {"object", "model"}}});
    snapshot.backend(1).models.replace({{{"id", "b-model"}, {"object", "model"}}});
    auth::Identity pro{"acme", "pro", nullptr, {}, "acme"};
    EXPECT_EQ(ids(gateway::model_list_body(snapshot, pro)),
              (std::vector<std::string>{"llama-3-8b", "secret", "a-model", "b-model"}));

    config::Consumer bob{"bob", "free", {}, std::vector<std::string>{"llama", "secret", "models"}};
    auth::Identity limited{"bob", "free", &bob, {}, "bob"};
    EXPECT_EQ(ids(gateway::model_list_body(snapshot, limited)),
              (std::vector<std::string>{"llama-3-8b", "a-model"}));
}

TEST(ModelList, ABackendNotYetListedAddsNothing) {
    gateway::Snapshot snapshot(two_backends(), 1, nullptr);
    auth::Identity pro{"acme", "pro", nullptr, {}, "acme"};
    EXPECT_EQ(ids(gateway::model_list_body(snapshot, pro)),
              (std::vector<std::string>{"llama-3-8b", "secret"}));
}

TEST(ModelList, OnlyAGetOfTheModelsPathOnAGatewayRouteIsAnswered) {
    const auto loaded = two_backends();
    const auto& models_route = loaded->routes[2];
    EXPECT_TRUE(gateway::answers_model_list(models_route, "GET", "/v1/models"));
    EXPECT_TRUE(gateway::answers_model_list(models_route, "GET", "/v1/models/"));
    EXPECT_FALSE(gateway::answers_model_list(models_route, "POST", "/v1/models"));
    EXPECT_FALSE(gateway::answers_model_list(models_route, "GET", "/v1/models/a-model"));
    EXPECT_FALSE(gateway::answers_model_list(loaded->routes[3], "GET", "/v1/models"));
}

TEST(ModelCatalog, ReadsTheModelObjectsOfAListAnswer) {
    const auto models = upstream::parse_model_list(
        R"({"object":"list","data":[{"id":"m","object":"model","max_model_len":8192},{"x":1}]})");
    ASSERT_TRUE(models);
    ASSERT_EQ(models->size(), 1u);
    EXPECT_EQ((*models)[0]["max_model_len"], 8192);
    EXPECT_FALSE(upstream::parse_model_list("not json"));
    EXPECT_FALSE(upstream::parse_model_list(R"({"data":{}})"));
}
