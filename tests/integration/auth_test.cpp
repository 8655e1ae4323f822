// Authentication through the real binary: API keys, 401/403, credentials never forwarded or logged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* acme_key = "sk-test-acme-0123456789abcdef";
constexpr const char* beta_key = "sk-test-beta-fedcba9876543210";

struct AuthTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        GatewayOptions options;
        options.env = {{"BETA_KEY", beta_key}};
        gateway = std::make_unique<RunningGateway>(RunningGateway::start(
            "tiers:\n  free: {}\n  pro: {}\n"
            "consumers:\n"
            "  - name: acme\n    tier: pro\n    keys:\n      - sha256: \"" +
                sha256_hex(acme_key) +
                "\"\n"
                "  - name: beta\n    tier: free\n    keys: [ { env: BETA_KEY } ]\n    routes: "
                "[chat, premium]\n"
                "backends:\n  vllm: { endpoints: [ { url: \"" +
                model->url() +
                "\" } ] }\n"
                "routes:\n"
                "  - { name: chat, backend: vllm, match: { path_prefix: /v1/chat/ } }\n"
                "  - { name: premium, backend: vllm, match: { path_prefix: /v1/completions }, "
                "tiers: [pro] }\n"
                "  - name: upstream-key\n    backend: vllm\n    match: { path_prefix: "
                "/v1/embeddings }\n"
                "    headers: { set: { authorization: \"Bearer vllm-server-key\" } }\n"
                "  - { name: models, backend: vllm, match: { path_prefix: /v1/models } }\n",
            options));
    }

    HttpResponse chat(HttpHeaders headers, const std::string& target = "/v1/chat/completions") {
        headers.emplace_back("x-fake-echo", "1");
        return http_request(gateway->port(), {"POST", target, headers, chat_body().dump()});
    }

    std::unique_ptr<FakeModel> model;
    std::unique_ptr<RunningGateway> gateway;
};

}  // namespace

TEST_F(AuthTest, MissingCredentialsGet401WithBearerChallenge) {
    const auto response = chat({});
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.header("www-authenticate"), "Bearer");
    EXPECT_EQ(response.json()["error"]["code"], "invalid_api_key");
    EXPECT_THAT(response.json()["error"]["message"].get<std::string>(),
                HasSubstr("missing credentials"));
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(AuthTest, UnknownOrMalformedKeysGet401WithoutEchoingThem) {
    for (const auto& header : std::vector<std::pair<std::string, std::string>>{
             {"authorization", "Bearer sk-wrong-key-123"},
             {"authorization", "Basic YWxhZGRpbjpvcGVu"},
             {"authorization", "Bearer"},
             {"x-api-key", "sk-wrong-key-456"},
             {"authorization", std::string("Bearer ") + acme_key + "x"}}) {
        const auto response = chat({header});
        EXPECT_EQ(response.status, 401) << header.second;
        EXPECT_EQ(response.json()["error"]["code"], "invalid_api_key");
        EXPECT_THAT(response.body, testing::Not(HasSubstr("wrong-key"))) << header.second;
    }
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(AuthTest, ValidKeysInEitherHeaderPassAndNeverTravelUpstream) {
    const auto bearer = chat({{"authorization", std::string("Bearer ") + acme_key}});
    ASSERT_EQ(bearer.status, 200) << bearer.body;
    EXPECT_FALSE(bearer.json()["headers"].contains("authorization"));
    const auto api_key = chat({{"x-api-key", beta_key}});
    ASSERT_EQ(api_key.status, 200) << api_key.body;
    EXPECT_FALSE(api_key.json()["headers"].contains("x-api-key"));
    EXPECT_FALSE(api_key.json()["headers"].contains("authorization"));
}

TEST_F(AuthTest, ARouteCanSetItsOwnUpstreamAuthorization) {
    const auto response =
        chat({{"authorization", std::string("Bearer ") + acme_key}}, "/v1/embeddings");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.json()["headers"]["authorization"], "Bearer vllm-server-key");
}

TEST_F(AuthTest, TierAndAllowListsGive403) {
    // beta is on the free tier: the premium route is for pro only.
    const auto tier = chat({{"x-api-key", beta_key}}, "/v1/completions");
    EXPECT_EQ(tier.status, 403);
    EXPECT_EQ(tier.json()["error"]["type"], "permission_error");
    EXPECT_THAT(tier.json()["error"]["message"].get<std::string>(), HasSubstr("tier \"free\""));
    // beta's allow-list does not include the models route.
    const auto listed =
        http_request(gateway->port(), {"GET", "/v1/models", {{"x-api-key", beta_key}}});
    EXPECT_EQ(listed.status, 403);
    // acme (pro, no allow-list) may use both.
    EXPECT_EQ(chat({{"x-api-key", acme_key}}, "/v1/completions").status, 200);
    EXPECT_EQ(
        http_request(gateway->port(), {"GET", "/v1/models", {{"x-api-key", acme_key}}}).status,
        200);
    EXPECT_EQ(model->stats()["requests_total"], 2);
}

TEST_F(AuthTest, ConsumerAndTierReachTheAccessLogAndMetricsButSecretsDoNot) {
    ASSERT_EQ(chat({{"authorization", std::string("Bearer ") + acme_key}}).status, 200);
    ASSERT_EQ(chat({{"x-api-key", "sk-wrong-key-789"}}).status, 401);
    ASSERT_EQ(chat({}).status, 401);
    ASSERT_TRUE(gateway->wait_for_access_lines(3, 5s));
    const auto ok = gateway->access_line_where("status", 200);
    EXPECT_EQ(ok["consumer"], "acme");
    EXPECT_EQ(ok["tier"], "pro");
    EXPECT_EQ(gateway->access_line_where("status", 401)["error"], "invalid_api_key");

    const auto metrics = http_request(gateway->admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_auth_failures_total{reason="unknown_api_key"} 1)"));
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_auth_failures_total{reason="missing"} 1)"));
    EXPECT_THAT(
        metrics,
        HasSubstr(R"(llmgw_requests_total{backend="vllm",code="200",route="chat",tier="pro"} 1)"));

    const auto everything =
        gateway->process().stdout_text() + gateway->process().stderr_text() + metrics;
    for (const auto* secret : {acme_key, beta_key, "sk-wrong-key-789"})
        EXPECT_THAT(everything, testing::Not(HasSubstr(secret))) << secret;
}

TEST(Keygen, PrintsAKeyAndTheSha256LineThatMatchesIt) {
    std::string out;
    ASSERT_EQ(run_to_exit(LLMGW_BINARY, {"keygen"}, 5s, &out), 0);
    std::smatch match;
    ASSERT_TRUE(std::regex_search(out, match, std::regex("key: +(sk-llmgw-[0-9a-f]{64})")));
    const auto key = match[1].str();
    EXPECT_THAT(out, HasSubstr("sha256: \"" + sha256_hex(key) + "\""));
    std::string again;
    ASSERT_EQ(run_to_exit(LLMGW_BINARY, {"keygen"}, 5s, &again), 0);
    EXPECT_THAT(again, testing::Not(HasSubstr(key)));
}

TEST(AuthOff, WithoutConsumersEveryoneIsAnonymousAndAWarningIsLogged) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start("backends: { b: { endpoints: [ { url: \"" + model.url() +
                                         "\" } ] } }\nroutes: [ { name: all, backend: b } ]\n");
    const auto response = http_request(
        gateway.port(), {"POST",
                         "/v1/chat/completions",
                         {{"authorization", "Bearer passed-through"}, {"x-fake-echo", "1"}},
                         chat_body().dump()});
    ASSERT_EQ(response.status, 200);
    // With authentication off the gateway is transparent: the header is the upstream's business.
    EXPECT_EQ(response.json()["headers"]["authorization"], "Bearer passed-through");
    EXPECT_THAT(gateway.process().stderr_text(), HasSubstr("authentication is off"));
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway.access_log_lines()[0]["consumer"], "anonymous");
}
