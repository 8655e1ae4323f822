// First-match routing on path prefix, headers and the body's model.
#include "llmgw/routing/route_table.hpp"

#include <gtest/gtest.h>

#include <map>

#include "llmgw/config/loader.hpp"
#include "llmgw/routing/rewrite.hpp"

using llmgw::routing::RequestFacts;
using llmgw::routing::RouteDecision;
using llmgw::routing::RouteTable;

namespace {

struct FakeRequest final : RequestFacts {
    std::string request_path = "/v1/chat/completions";
    std::map<std::string, std::string> headers;
    Model body_model{ModelState::absent, {}};
    mutable int model_asked = 0;

    std::string_view path() const override { return request_path; }
    std::optional<std::string_view> header(std::string_view name) const override {
        const auto it = headers.find(std::string(name));
        if (it == headers.end()) return std::nullopt;
        return std::string_view(it->second);
    }
    Model model() const override {
        ++model_asked;
        return body_model;
    }
};

const llmgw::config::Config& config() {
    static const auto loaded = llmgw::config::load_string(R"(
backends: { b: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
routes:
  - { name: llama, backend: b, match: { path_prefix: /v1/, model: llama-3-8b } }
  - { name: canary, backend: b, match: { path_prefix: /v1/, headers: { x-model-version: "2", x-region: eu } } }
  - { name: v1, backend: b, match: { path_prefix: /v1/ } }
  - { name: openai, backend: b, match: { path_prefix: /openai/v1/ }, rewrite: { path_prefix: /v1/ } }
  - { name: triton-llama, backend: b, match: { path_prefix: /v2/models/, model: llama, model_from: path }, rewrite: { model: llama-ensemble } }
  - { name: chat-only, backend: b, match: { path_prefix: /chat/, model: m } }
)");
    return loaded;
}

std::string matched(const RouteDecision& decision) {
    return decision.outcome == RouteDecision::Outcome::matched ? decision.route->name : "<none>";
}

}  // namespace

TEST(RouteTable, FirstMatchingRouteWinsInFileOrder) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.body_model = {RequestFacts::ModelState::present, "llama-3-8b"};
    request.headers = {{"x-model-version", "2"}, {"x-region", "eu"}};
    EXPECT_EQ(matched(table.match(request)), "llama");
}

TEST(RouteTable, MatchesOnEveryListedHeaderExactly) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.headers = {{"x-model-version", "2"}, {"x-region", "eu"}};
    EXPECT_EQ(matched(table.match(request)), "canary");
    request.headers = {{"x-model-version", "2"}};
    EXPECT_EQ(matched(table.match(request)), "v1");
    request.headers = {{"x-model-version", "2 "}, {"x-region", "eu"}};
    EXPECT_EQ(matched(table.match(request)), "v1");
}

TEST(RouteTable, PathPrefixDecidesAndNoMatchIsReported) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.request_path = "/openai/v1/models";
    EXPECT_EQ(matched(table.match(request)), "openai");
    request.request_path = "/v2/models";
    EXPECT_EQ(table.match(request).outcome, RouteDecision::Outcome::no_match);
}

TEST(RouteTable, AsksForTheModelOnlyWhenARouteNeedsIt) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.request_path = "/openai/v1/models";  // the model route's prefix does not match
    table.match(request);
    EXPECT_EQ(request.model_asked, 0);
}

TEST(RouteTable, ARequestWithoutAJsonBodyFallsThroughModelRoutes) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.request_path = "/v1/models";
    request.body_model = {RequestFacts::ModelState::no_json_body, {}};
    EXPECT_EQ(matched(table.match(request)), "v1");
    request.body_model = {RequestFacts::ModelState::body_not_json, {}};
    EXPECT_EQ(matched(table.match(request)), "v1");
}

TEST(RouteTable, BrokenJsonThatNoLaterRouteTakesIsReportedAsSuch) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.request_path = "/chat/completions";
    request.body_model = {RequestFacts::ModelState::body_not_json, {}};
    EXPECT_EQ(table.match(request).outcome, RouteDecision::Outcome::body_not_json);
    request.body_model = {RequestFacts::ModelState::no_json_body, {}};
    EXPECT_EQ(table.match(request).outcome, RouteDecision::Outcome::no_match);
}

TEST(RouteTable, MatchesTheModelInThePathWithoutReadingTheBody) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.request_path = "/v2/models/llama/generate_stream";
    EXPECT_EQ(matched(table.match(request)), "triton-llama");
    EXPECT_EQ(request.model_asked, 0);
    request.request_path = "/v2/models/llama-70b/generate";
    EXPECT_EQ(table.match(request).outcome, RouteDecision::Outcome::no_match);
    request.request_path = "/v2/models/";
    EXPECT_EQ(table.match(request).outcome, RouteDecision::Outcome::no_match);
}

TEST(RouteTable, ADifferentOrMissingModelFallsThrough) {
    RouteTable table(config().routes);
    FakeRequest request;
    request.body_model = {RequestFacts::ModelState::present, "llama-3-70b"};
    EXPECT_EQ(matched(table.match(request)), "v1");
    request.body_model = {RequestFacts::ModelState::absent, {}};
    EXPECT_EQ(matched(table.match(request)), "v1");
}

TEST(Rewrite, ReplacesTheMatchedPrefixAndKeepsTheQuery) {
    const auto& openai = config().routes[3];
    EXPECT_EQ(llmgw::routing::rewrite_target(openai, "/openai/v1/chat/completions?x=1"),
              "/v1/chat/completions?x=1");
    const auto& plain = config().routes[2];
    EXPECT_EQ(llmgw::routing::rewrite_target(plain, "/v1/models"), "/v1/models");
    // The pipeline leaves a target alone when its route rewrites nothing.
    EXPECT_TRUE(llmgw::routing::rewrites_target(openai));
    EXPECT_FALSE(llmgw::routing::rewrites_target(plain));
    EXPECT_TRUE(llmgw::routing::rewrites_target(config().routes[4]));
}

TEST(Rewrite, ReplacesTheModelSegmentOfAPathModelRoute) {
    const auto& triton = config().routes[4];
    EXPECT_EQ(llmgw::routing::rewrite_target(triton, "/v2/models/llama/generate?x=1"),
              "/v2/models/llama-ensemble/generate?x=1");
    EXPECT_EQ(llmgw::routing::model_in_path(triton, "/v2/models/llama/generate"), "llama");
}
