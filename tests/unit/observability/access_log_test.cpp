// Access-log lines are valid JSON with the documented fields, whatever the client sent.
#include "llmgw/observability/access_log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/observability/request_id.hpp"

using namespace std::chrono_literals;
using namespace llmgw::observability;

TEST(AccessLine, HasTheDocumentedFields) {
    AccessRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'000'000'123));
    r.request_id = "abc";
    r.client = "127.0.0.1";
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.route = "chat";
    r.backend = "vllm";
    r.endpoint = "http://127.0.0.1:8000";
    r.status = 200;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.duration = 1500us;
    r.upstream_first_byte = 500us;
    r.stream = true;
    const auto line = nlohmann::json::parse(format_access_line(r));
    EXPECT_EQ(line["time"], "2025-11-24T16:00:00.123Z");
    EXPECT_EQ(line["request_id"], "abc");
    EXPECT_EQ(line["status"], 200);
    EXPECT_EQ(line["bytes_in"], 10);
    EXPECT_EQ(line["bytes_out"], 20);
    EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(line["upstream_first_byte_ms"].get<double>(), 0.5);
    EXPECT_EQ(line["stream"], true);
    EXPECT_EQ(line["route"], "chat");
    EXPECT_EQ(line["error"], "");
}

TEST(AccessLine, StaysValidJsonWithHostileInput) {
    AccessRecord r;
    r.path = std::string("/\"quote\\\n\x01\xff", 11);
    r.method = "GET";
    const auto line = format_access_line(r);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto parsed = nlohmann::json::parse(line);
    EXPECT_TRUE(parsed["upstream_first_byte_ms"].is_null());
}

TEST(RequestId, AcceptsSaneTokensOnly) {
    EXPECT_TRUE(is_sane_request_id("req-1_a.b:c"));
    EXPECT_FALSE(is_sane_request_id(""));
    EXPECT_FALSE(is_sane_request_id("has space"));
    EXPECT_FALSE(is_sane_request_id("new\nline"));
    EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
}

TEST(RequestId, GeneratesDistinctHexIds) {
    const auto a = generate_request_id();
    const auto b = generate_request_id();
    EXPECT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(is_sane_request_id(a));
}
