// The Connection header through the real binary: the headers it names are dropped before the
// request goes upstream, but it can never remove what llmgw checks (credentials are read
// before it applies) or what llmgw adds (x-forwarded-for, x-request-id, a route's headers).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr const char* key = "sk-test-conn-0123456789abcdef";
constexpr const char* every_guarded_header =
    "keep-alive, authorization, x-api-key, x-forwarded-for, x-request-id, x-forwarded-proto, "
    "x-forwarded-host, host, content-length, x-team, x-private";

struct ConnectionHeaderTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        gateway = std::make_unique<RunningGateway>(RunningGateway::start(
            "tiers:\n  pro: {}\n"
            "consumers:\n  - name: acme\n    tier: pro\n    keys: [ { sha256: \"" +
            sha256_hex(key) + "\" } ]\n" + "backends:\n  vllm: { endpoints: [ { url: \"" +
            model->url() + "\" } ] }\n" +
            "routes:\n  - { name: all, backend: vllm, headers: { set: { x-team: ml } } }\n"));
    }

    HttpResponse chat(HttpHeaders headers) {
        headers.emplace_back("x-fake-echo", "1");
        headers.emplace_back("connection", every_guarded_header);
        headers.emplace_back("x-private", "client-only");
        headers.emplace_back("x-forwarded-for", "6.6.6.6");
        headers.emplace_back("x-request-id", "client-chosen-id-1");
        return http_request(gateway->port(),
                            {"POST", "/v1/chat/completions", headers, chat_body().dump()});
    }

    // What llmgw adds must be there whatever the Connection header said.
    void expect_gateway_headers(const nlohmann::json& upstream) const {
        EXPECT_EQ(upstream["x-forwarded-for"], "127.0.0.1");  // the peer, never the client's claim
        EXPECT_EQ(upstream["x-forwarded-proto"], "http");
        EXPECT_EQ(upstream["x-forwarded-host"], "127.0.0.1:" + std::to_string(gateway->port()));
        EXPECT_EQ(upstream["x-request-id"], "client-chosen-id-1");
        EXPECT_EQ(upstream["x-team"], "ml");
        // The endpoint's own name, never the gateway's that the client used.
        EXPECT_EQ(upstream["host"], "127.0.0.1:" + std::to_string(model->port()));
        EXPECT_TRUE(upstream.contains("content-length"));
        EXPECT_FALSE(upstream.contains("x-private"));  // named in Connection: the client's to drop
        EXPECT_FALSE(upstream.contains("connection"));
        EXPECT_FALSE(upstream.contains("keep-alive"));
        EXPECT_FALSE(upstream.contains("authorization"));
        EXPECT_FALSE(upstream.contains("x-api-key"));
    }

    std::unique_ptr<FakeModel> model;
    std::unique_ptr<RunningGateway> gateway;
};

}  // namespace

TEST_F(ConnectionHeaderTest, NamingTheCredentialHeadersDoesNotSkipAuthentication) {
    const auto response = chat({});
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.json()["error"]["code"], "invalid_api_key");
    const auto wrong = chat({{"authorization", "Bearer sk-wrong"}});
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(ConnectionHeaderTest, BearerKeyNamedInConnectionStillAuthenticatesAndGatewayHeadersStay) {
    const auto response = chat({{"authorization", std::string("Bearer ") + key}});
    ASSERT_EQ(response.status, 200) << response.body;
    expect_gateway_headers(response.json()["headers"]);
    // The upstream's own record of the request agrees with its echo.
    const auto last = model->stats()["last_request"];
    ASSERT_TRUE(last.is_object());
    expect_gateway_headers(last["headers"]);
}

TEST_F(ConnectionHeaderTest, ApiKeyNamedInConnectionStillAuthenticatesAndGatewayHeadersStay) {
    const auto response = chat({{"x-api-key", key}});
    ASSERT_EQ(response.status, 200) << response.body;
    expect_gateway_headers(response.json()["headers"]);
    ASSERT_TRUE(gateway->wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway->access_log_lines()[0]["consumer"], "acme");
}
