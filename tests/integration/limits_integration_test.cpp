// Rate limits, quotas and usage metering through the real binary (in-process store).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* free_key = "sk-free-consumer-key-1";
constexpr const char* pro_key = "sk-pro-consumer-key-2";

std::string config_with(const std::string& tiers, const FakeModel& model) {
    return "tiers:\n" + tiers +
           "consumers:\n"
           "  - { name: freebie, tier: free, keys: [ { sha256: \"" +
           sha256_hex(free_key) +
           "\" } ] }\n"
           "  - { name: acme, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(pro_key) +
           "\" } ] }\n"
           "backends: { vllm: { endpoints: [ { url: \"" +
           model.url() +
           "\" } ] } }\n"
           "routes: [ { name: chat, backend: vllm, match: { path_prefix: /v1/ } } ]\n";
}

HttpResponse chat_as(const RunningGateway& gateway, const char* key, HttpHeaders headers = {},
                     nlohmann::json body = chat_body()) {
    headers.emplace_back("authorization", std::string("Bearer ") + key);
    return gateway.post("/v1/chat/completions", body, headers);
}

}  // namespace

TEST(RateLimits, RequestsPerMinuteRefuseWith429AndHeaders) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config_with("  free: { rate: { requests_per_minute: 3 } }\n  pro: {}\n", model));
    for (int i = 0; i < 3; ++i) {
        const auto ok = chat_as(gateway, free_key);
        ASSERT_EQ(ok.status, 200) << ok.body;
        EXPECT_EQ(ok.header("x-ratelimit-limit-requests"), "3");
        EXPECT_EQ(ok.header("x-ratelimit-remaining-requests"), std::to_string(2 - i));
        EXPECT_EQ(ok.header("ratelimit-remaining"), std::to_string(2 - i));
    }
    const auto refused = chat_as(gateway, free_key);
    EXPECT_EQ(refused.status, 429);
    EXPECT_EQ(refused.header("retry-after"), "20");  // one request per 20 s comes back
    EXPECT_EQ(refused.header("x-ratelimit-remaining-requests"), "0");
    EXPECT_EQ(refused.json()["error"]["type"], "requests");
    EXPECT_EQ(refused.json()["error"]["code"], "rate_limit_exceeded");
    EXPECT_THAT(refused.json()["error"]["message"].get<std::string>(),
                HasSubstr("3 requests per minute"));
    EXPECT_EQ(model.stats()["requests_total"], 3);
    // Another consumer (and an unlimited tier) is not affected.
    EXPECT_EQ(chat_as(gateway, pro_key).status, 200);
    ASSERT_TRUE(gateway.wait_for_access_lines(5, 5s));
    EXPECT_EQ(gateway.access_line_where("status", 429)["rate_limit"], "refused");
    EXPECT_THAT(http_request(gateway.admin_port(), {"GET", "/metrics"}).body,
                HasSubstr(R"(llmgw_rate_limited_total{limit="requests_rate",tier="free"} 1)"));
}

TEST(RateLimits, ExactlyTheQuotaIsAdmittedUnderConcurrency) {
    auto model = FakeModel::start("m1", {"--threads", "2"});
    auto gateway = RunningGateway::start(
        config_with("  free: { quota: { requests_per_day: 100 } }\n  pro: {}\n", model));
    std::vector<std::future<int>> requests;
    for (int i = 0; i < 200; ++i)
        requests.push_back(
            std::async(std::launch::async, [&] { return chat_as(gateway, free_key).status; }));
    int admitted = 0, refused = 0;
    for (auto& f : requests) {
        const auto status = f.get();
        admitted += status == 200;
        refused += status == 429;
    }
    EXPECT_EQ(admitted, 100);
    EXPECT_EQ(refused, 100);
    EXPECT_EQ(model.stats()["requests_total"], 100);
}

TEST(RateLimits, TokenLimitsAreDebitedWithTheRealUsage) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        config_with("  free: { rate: { tokens_per_minute: 100 } }\n  pro: {}\n", model));
    // 150 completion tokens: admitted (the bucket had something left), then the bucket is in debt.
    const auto first = chat_as(gateway, free_key, {{"x-fake-chunks", "150"}});
    ASSERT_EQ(first.status, 200);
    // Tokens are debited once the answer has ended (the log line follows the debit).
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    const auto second = chat_as(gateway, free_key);
    EXPECT_EQ(second.status, 429);
    EXPECT_EQ(second.json()["error"]["type"], "tokens");
    ASSERT_TRUE(gateway.wait_for_access_lines(2, 5s));
    const auto line = gateway.access_line_where("status", 200);
    EXPECT_EQ(line["completion_tokens"], 150);
    EXPECT_EQ(line["tokens_estimated"], false);
}

// A streamed chat completion of four words as the pro consumer.
StreamedResponse stream_as_pro(const RunningGateway& gateway, const nlohmann::json& body) {
    return http_stream(gateway.port(), {"POST",
                                        "/v1/chat/completions",
                                        {{"authorization", std::string("Bearer ") + pro_key},
                                         {"x-fake-chunks", "4"},
                                         {"x-fake-chunk-interval-ms", "1"}},
                                        body.dump()});
}

TEST(RateLimits, StreamedUsageIsCountedAndTheExtraChunkHiddenUnlessAskedFor) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config_with("  free: {}\n  pro: {}\n", model));
    auto body = chat_body("fake-model", true);
    const auto hidden = stream_as_pro(gateway, body);
    ASSERT_TRUE(hidden.complete) << hidden.error;
    for (const auto& line : sse_data_lines(hidden.body()))
        EXPECT_EQ(line.find("\"usage\""), std::string::npos) << line;
    EXPECT_EQ(sse_data_lines(hidden.body()).back(), "[DONE]");

    body["stream_options"] = {{"include_usage", true}};
    const auto shown = stream_as_pro(gateway, body);
    ASSERT_TRUE(shown.complete);
    EXPECT_NE(shown.body().find("\"usage\""), std::string::npos);

    ASSERT_TRUE(gateway.wait_for_access_lines(2, 5s));
    for (const auto& line : gateway.access_log_lines()) {
        EXPECT_EQ(line["completion_tokens"], 4);
        EXPECT_EQ(line["tokens_estimated"], false);
    }
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_tokens_total{consumer="acme",kind="completion"} 8)"));
}

TEST(RateLimits, UsageIsReportedPerConsumerAndDay) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    auto gateway = RunningGateway::start(config_with("  free: {}\n  pro: {}\n", model), options);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(chat_as(gateway, pro_key, {{"x-fake-chunks", "10"}}).status, 200);
    ASSERT_EQ(chat_as(gateway, free_key).status, 200);
    ASSERT_TRUE(gateway.wait_for_access_lines(4, 5s));
    // Yesterday to tomorrow: a run across midnight UTC splits its usage over two days.
    const auto usage =
        http_request(gateway.admin_port(), {"GET", "/admin/usage?consumer=acme&" + usage_days_around_today()});
    ASSERT_EQ(usage.status, 200) << usage.body;
    const auto json = usage.json();
    ASSERT_GE(json["days"].size(), 1u);
    if (json["days"].size() > 1) GTEST_SKIP() << "the run crossed midnight UTC";
    EXPECT_EQ(json["days"][0]["requests"], 3);
    EXPECT_EQ(json["days"][0]["completion_tokens"], 30);
    EXPECT_GT(json["days"][0]["prompt_tokens"].get<int>(), 0);
    EXPECT_EQ(json["total"]["requests"], 3);
    EXPECT_EQ(
        http_request(gateway.admin_port(), {"GET", "/admin/usage?consumer=acme&from=2026-13-01"})
            .status,
        400);
    EXPECT_EQ(http_request(gateway.admin_port(),
                           {"GET", "/admin/usage?consumer=acme&from=2000-01-01&to=2000-01-31"})
                  .json()["days"]
                  .size(),
              0u);
}
