// The gateway's own errors are OpenAI-shaped JSON.
#include "llmgw/http/gateway_error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

using namespace llmgw::http;

TEST(GatewayError, BodyHasTheOpenAiShape) {
    const auto body = nlohmann::json::parse(error_body(route_not_found("GET", "/v2/x")));
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_EQ(body["error"]["code"], "route_not_found");
    EXPECT_EQ(body["error"]["message"], "no route for GET /v2/x");
}

TEST(GatewayError, StatusesFollowTheDesignTable) {
    EXPECT_EQ(make_error(ErrorCode::invalid_json).status, 400);
    EXPECT_EQ(make_error(ErrorCode::invalid_api_key).status, 401);
    EXPECT_EQ(make_error(ErrorCode::route_not_allowed).status, 403);
    EXPECT_EQ(route_not_found("GET", "/").status, 404);
    EXPECT_EQ(make_error(ErrorCode::request_timeout).status, 408);
    EXPECT_EQ(payload_too_large(1).status, 413);
    EXPECT_EQ(headers_too_large(1).status, 431);
    EXPECT_EQ(make_error(ErrorCode::rate_limit_exceeded).status, 429);
    EXPECT_EQ(make_error(ErrorCode::upstream_reset).status, 502);
    EXPECT_EQ(make_error(ErrorCode::no_healthy_endpoint).status, 503);
    EXPECT_EQ(make_error(ErrorCode::upstream_timeout).status, 504);
}

TEST(GatewayError, EveryCodeHasOneRowAndA503SaysWhenToRetry) {
    std::set<std::string_view> names;
    for (const auto& kind : all_error_kinds()) {
        EXPECT_TRUE(names.insert(kind.name).second) << kind.name << " twice";
        EXPECT_FALSE(kind.message.empty()) << kind.name;
        if (kind.status == 503) {
            EXPECT_GT(kind.retry_after_seconds, 0) << kind.name;
        }
        const auto error = make_error(kind.code);
        EXPECT_EQ(error.code, kind.name);
        EXPECT_EQ(error.status, kind.status);
    }
    EXPECT_EQ(make_error(ErrorCode::invalid_token, "expired").message, "expired");
}

TEST(GatewayError, InvalidUtf8FromAClientPathStillGivesValidJson) {
    const auto body = error_body(route_not_found("GET", "/\xff\xfe"));
    const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded());
}
