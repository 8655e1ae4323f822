// The Redis form of an answer, header selection and the request's cache directives.
#include "llmgw/cache/cached_answer.hpp"

#include <gtest/gtest.h>

#include "llmgw/cache/response_cache.hpp"

using namespace std::chrono_literals;
using namespace llmgw::cache;

namespace {

TEST(CachedAnswer, RoundTripsThroughItsRedisForm) {
    CachedAnswer a;
    a.route = "chat";
    a.status = 200;
    a.headers = {{"content-type", "text/event-stream"}, {"x-upstream", "v\n1"}};
    a.body = "data: {\"x\":1}\n\ndata: [DONE]\n\n";
    a.streamed = true;
    a.stored_at = Clock::now() - 3s;
    a.expires_at = a.stored_at + 1min;
    a.prompt_tokens = 12;
    a.completion_tokens = 34;
    const auto b = deserialize(serialize(a));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->route, a.route);
    EXPECT_EQ(b->headers, a.headers);
    EXPECT_EQ(b->body, a.body);
    EXPECT_TRUE(b->streamed);
    EXPECT_EQ(b->age_seconds(Clock::now()), 3);
    EXPECT_EQ(b->completion_tokens, 34u);
    EXPECT_FALSE(deserialize("garbage").has_value());
    EXPECT_FALSE(deserialize("{\"v\":2}\nbody").has_value());
}

TEST(CachedAnswer, PerAnswerHeadersAreNotReplayed) {
    EXPECT_TRUE(is_replayable_header("content-type"));
    EXPECT_TRUE(is_replayable_header("x-upstream-version"));
    for (const auto* name : {"x-request-id", "date", "set-cookie", "age", "ratelimit-remaining",
                             "x-ratelimit-limit-requests", "x-cache"})
        EXPECT_FALSE(is_replayable_header(name)) << name;
}

TEST(CachedAnswer, ReplayHeadIsTheTextAFieldTreeGives) {
    CachedAnswer a;
    // A field tree trims values and keeps fields of one name together (any case), in order.
    a.headers = {{"content-type", "application/json"},
                 {"x-upstream", "  v1 \t"},
                 {"Content-Type", "text/plain"},
                 {"x-empty", ""}};
    prepare_replay(a);
    ASSERT_TRUE(a.head_lines.has_value());
    EXPECT_EQ(*a.head_lines,
              "content-type: application/json\r\nContent-Type: text/plain\r\n"
              "x-upstream: v1\r\nx-empty: \r\n");
    CachedAnswer none;
    prepare_replay(none);
    EXPECT_EQ(none.head_lines, std::optional<std::string>(""));
    // A name the replay's steps would drop (only an entry from elsewhere holds one): no text,
    // the replay goes through a field tree.
    for (const auto* name : {"X-Request-Id", "x-cache", "Age", "x-ratelimit-remaining-requests"}) {
        CachedAnswer odd;
        odd.headers = {{"content-type", "application/json"}, {name, "1"}};
        prepare_replay(odd);
        EXPECT_FALSE(odd.head_lines.has_value()) << name;
    }
    // An entry read from Redis is ready to replay.
    a.headers = {{"content-type", "text/event-stream"}};
    const auto b = deserialize(serialize(a));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->head_lines, std::optional<std::string>("content-type: text/event-stream\r\n"));
}

TEST(CacheDirectives, BypassAndStorable) {
    EXPECT_FALSE(bypass("POST", "").has_value());
    EXPECT_FALSE(bypass("GET", "max-age=0").has_value());
    ASSERT_TRUE(bypass("POST", "No-Cache").has_value());
    EXPECT_TRUE(bypass("POST", "no-cache")->store_answer);
    EXPECT_FALSE(bypass("POST", "max-age=5, no-store")->store_answer);
    EXPECT_FALSE(bypass("DELETE", "")->store_answer);
    EXPECT_FALSE(bypass("POST", "no-cachex").has_value());
    EXPECT_TRUE(storable(200, ""));
    EXPECT_FALSE(storable(201, ""));
    EXPECT_FALSE(storable(500, ""));
    EXPECT_FALSE(storable(200, "private"));
    EXPECT_FALSE(storable(200, "no-store"));
}

}  // namespace
