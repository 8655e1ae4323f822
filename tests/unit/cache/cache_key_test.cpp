// What makes two requests the same question for the cache.
#include "llmgw/cache/cache_key.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using llmgw::cache::cache_key;
using llmgw::cache::KeyParts;

namespace {

std::string key_of(const std::string& body, std::string_view route = "chat",
                   std::string_view consumer = "", bool streamed = false,
                   std::string_view target = "/v1/chat/completions") {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    return cache_key(KeyParts{route, "POST", target, consumer, streamed,
                              json.is_discarded() ? nullptr : &json, body});
}

TEST(CacheKey, KeyOrderAndWhitespaceDoNotMatter) {
    const auto a = key_of(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
    const auto b = key_of(R"({ "messages" : [ { "content":"hi", "role":"user" } ],
                              "model": "m" })");
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.substr(0, 5), "chat:");
    EXPECT_EQ(a.size(), 5u + 64u);
}

TEST(CacheKey, EveryOtherDifferenceCounts) {
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
    const auto base = key_of(body);
    EXPECT_NE(base, key_of(R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})"));
    EXPECT_NE(base, key_of(R"({"model":"m","messages":[{"content":"hi","role":"user"}],"n":1})"));
    EXPECT_NE(base, key_of(body, "other"));
    EXPECT_NE(base, key_of(body, "chat", "acme"));
    EXPECT_NE(key_of(body, "chat", "acme"), key_of(body, "chat", "globex"));
    EXPECT_NE(base, key_of(body, "chat", "", true));
    EXPECT_NE(base, key_of(body, "chat", "", false, "/v1/chat/completions?x=1"));
    // Array order is meaning (message order), not form.
    EXPECT_NE(key_of(R"({"a":[1,2]})"), key_of(R"({"a":[2,1]})"));
}

TEST(CacheKey, PartsCannotRunIntoEachOther) {
    EXPECT_NE(cache_key(KeyParts{"ab", "POST", "/c", "", false, nullptr, ""}),
              cache_key(KeyParts{"a", "POST", "b/c", "", false, nullptr, ""}));
}

TEST(CacheKey, RawBodiesWhenNotJson) {
    EXPECT_EQ(key_of("not json"), key_of("not json"));
    EXPECT_NE(key_of("not json"), key_of("not  json"));
}

TEST(CacheKey, RouteOf) {
    EXPECT_EQ(llmgw::cache::route_of(key_of("{}", "my:route")), "my:route");
}

}  // namespace
