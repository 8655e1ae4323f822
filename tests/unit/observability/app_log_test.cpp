// Application-log lines are JSON objects with time, level and msg, and carry no credentials.
#include "llmgw/observability/app_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace llmgw::observability;
using testing::HasSubstr;
using testing::Not;

TEST(AppLine, IsAJsonObjectWithTimeLevelAndMessage) {
    const auto time =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'000'000'123));
    const auto line = nlohmann::json::parse(
        format_app_line(time, "warn", "route \"chat\" lists tiers\n\tand \xc3\xa9"));
    EXPECT_EQ(line["time"], "2025-11-24T16:00:00.123Z");
    EXPECT_EQ(line["level"], "warn");
    // Non-ASCII bytes are escaped one by one, like the access log does.
    EXPECT_EQ(line["msg"], "route \"chat\" lists tiers\n\tand \u00c3\u00a9");
    EXPECT_EQ(line.size(), 3u);
}

TEST(RedactSecrets, HidesTheCredentialsItRecognises) {
    EXPECT_EQ(redact_secrets("redis://:hunter2@10.0.0.1:6379/0 refused"),
              "redis://:[redacted]@10.0.0.1:6379/0 refused");
    EXPECT_EQ(redact_secrets("fetching https://user:pa55@idp.example/jwks failed"),
              "fetching https://user:[redacted]@idp.example/jwks failed");
    EXPECT_EQ(redact_secrets("Authorization: Bearer eyJhbGciOi.abc.def was refused"),
              "Authorization: Bearer [redacted] was refused");
    EXPECT_EQ(redact_secrets("key sk-llmgw-0123abcd leaked"), "key sk-llmgw-[redacted] leaked");
    EXPECT_EQ(redact_secrets("GET /v1/models?api_key=abc&x=1&token=zz"),
              "GET /v1/models?api_key=[redacted]&x=1&token=[redacted]");
}

TEST(RedactSecrets, LeavesOrdinaryMessagesAlone) {
    for (const std::string text :
         {"llmgw listening on 0.0.0.0:8080 with 2 workers; admin on 127.0.0.1:9090",
          "backend vllm: endpoint http://10.0.0.11:8000 is healthy again",
          "redis 127.0.0.1:6379 connected",
          "/etc/llmgw/llmgw.yaml:12: routes[0].timeout: unknown key"})
        EXPECT_EQ(redact_secrets(text), text);
}

TEST(AppLine, NeverCarriesARecognisedSecret) {
    const auto line = format_app_line({}, "error", "cannot reach redis://:hunter2@redis:6379");
    EXPECT_THAT(line, Not(HasSubstr("hunter2")));
    EXPECT_THAT(line, HasSubstr("redis://:[redacted]@redis:6379"));
}
