// The gateway's own errors are OpenAI-shaped JSON.
#include "llmgw/http/gateway_error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace llmgw::http;

TEST(GatewayError, BodyHasTheOpenAiShape) {
    const auto body = nlohmann::json::parse(error_body(route_not_found("GET", "/v2/x")));
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_EQ(body["error"]["code"], "route_not_found");
    EXPECT_EQ(body["error"]["message"], "no route for GET /v2/x");
}

TEST(GatewayError, StatusesFollowTheDesignTable) {
    EXPECT_EQ(bad_request("x").status, 400);
    EXPECT_EQ(route_not_found("GET", "/").status, 404);
    EXPECT_EQ(request_timeout("x").status, 408);
    EXPECT_EQ(payload_too_large(1).status, 413);
    EXPECT_EQ(headers_too_large(1).status, 431);
    EXPECT_EQ(bad_gateway("x").status, 502);
    EXPECT_EQ(gateway_timeout("x").status, 504);
}

TEST(GatewayError, InvalidUtf8FromAClientPathStillGivesValidJson) {
    const auto body = error_body(route_not_found("GET", "/\xff\xfe"));
    const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded());
}
