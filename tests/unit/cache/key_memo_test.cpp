// The worker's memo of cache keys: the keys cache_key() gives, without the parse when known.
#include "llmgw/cache/key_memo.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

using llmgw::cache::cache_key;
using llmgw::cache::KeyMemo;
using llmgw::cache::KeyParts;

namespace {

// A request's raw key parts; the body is parsed only by `key()`'s callback.
struct Raw {
    explicit Raw(std::string text) : body(std::move(text)) {}

    std::string body;
    std::string route = "chat";
    std::string consumer;
    bool streamed = false;
    std::string target = "/v1/chat/completions";
    std::string method = "POST";

    KeyParts parts() const { return {route, method, target, consumer, streamed, nullptr, body}; }
};

// What the pipeline computed before the memo: cache_key over the parsed body.
std::string direct_key(const Raw& raw) {
    const auto json = nlohmann::json::parse(raw.body, nullptr, false);
    auto parts = raw.parts();
    parts.body = json.is_discarded() ? nullptr : &json;
    return cache_key(parts);
}

// The memo's key, counting the parses it asked for.
std::string memo_key(KeyMemo& memo, const Raw& raw, int& parses) {
    std::optional<nlohmann::json> json;
    return memo.key(raw.parts(), [&]() -> const nlohmann::json* {
        ++parses;
        auto parsed = nlohmann::json::parse(raw.body, nullptr, false);
        if (parsed.is_discarded()) return nullptr;
        json = std::move(parsed);
        return &*json;
    });
}

std::vector<std::string> bodies() {
    return {R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
            R"({ "messages" : [ { "content":"hi", "role":"user" } ], "model": "m" })",
            R"({"messages":[{"role":"user","content":"hi"}],"model":"m"})",
            R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})",
            R"({"a":[1,2]})",
            R"({"a":[2,1]})",
            R"({"a":1.5e3,"b":"\u00e9","c":null,"d":true})",
            "not json",
            "not  json",
            "",
            "{}",
            "[]"};
}

TEST(KeyMemo, GivesTheKeysCacheKeyGivesAndParsesOnlyTheFirstTime) {
    KeyMemo memo;
    for (const auto& body : bodies()) {
        const Raw raw{body};
        int parses = 0;
        EXPECT_EQ(memo_key(memo, raw, parses), direct_key(raw)) << body;
        EXPECT_EQ(memo_key(memo, raw, parses), direct_key(raw)) << body;
        EXPECT_EQ(parses, 1) << body;
    }
    // Reordered keys and whitespace share a key, as they do without the memo.
    int parses = 0;
    EXPECT_EQ(memo_key(memo, Raw{bodies()[0]}, parses), memo_key(memo, Raw{bodies()[1]}, parses));
    EXPECT_EQ(memo_key(memo, Raw{bodies()[0]}, parses), memo_key(memo, Raw{bodies()[2]}, parses));
    EXPECT_EQ(parses, 0);
}

TEST(KeyMemo, RequestsThatDifferInAnyPartNeverShareAKey) {
    KeyMemo memo;
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
    std::vector<Raw> raws(7, Raw{body});
    raws[1].consumer = "acme";
    raws[2].consumer = "globex";
    raws[3].streamed = true;
    raws[4].target = "/v1/chat/completions?x=1";
    raws[5].route = "other";
    raws[6].method = "GET";
    // Twice each, the second time from the memo: every one keeps its own key.
    std::set<std::string> keys;
    for (int round = 0; round < 2; ++round) {
        for (const auto& raw : raws) {
            int parses = 0;
            const auto key = memo_key(memo, raw, parses);
            EXPECT_EQ(key, direct_key(raw));
            EXPECT_EQ(parses, round == 0 ? 1 : 0);
            keys.insert(key);
        }
    }
    EXPECT_EQ(keys.size(), raws.size());
    // Parts cannot run into each other: route "ab" + target "/c" is not route "a" + "b/c".
    Raw ab{"{}"}, a{"{}"};
    ab.route = "ab";
    ab.target = "/c";
    a.route = "a";
    a.target = "b/c";
    int parses = 0;
    EXPECT_EQ(memo_key(memo, ab, parses), direct_key(ab));
    EXPECT_EQ(memo_key(memo, a, parses), direct_key(a));
    EXPECT_NE(direct_key(ab), direct_key(a));
}

TEST(KeyMemo, StaysWithinItsBounds) {
    KeyMemo memo(KeyMemo::Bounds{16, 64, 16 * 1024});
    for (int i = 0; i < 100; ++i) {
        const Raw raw{R"({"n":)" + std::to_string(i) + "}"};
        int parses = 0;
        EXPECT_EQ(memo_key(memo, raw, parses), direct_key(raw));
        EXPECT_LE(memo.entries(), 16u);
    }
    EXPECT_GT(memo.entries(), 0u);
    // A body over max_body_bytes is keyed afresh each time, and never kept.
    const auto before = memo.entries();
    const Raw large{R"({"text":")" + std::string(100, 'x') + "\"}"};
    int parses = 0;
    EXPECT_EQ(memo_key(memo, large, parses), direct_key(large));
    EXPECT_EQ(memo_key(memo, large, parses), direct_key(large));
    EXPECT_EQ(parses, 2);
    EXPECT_EQ(memo.entries(), before);
    // The byte budget holds as well as the entry count.
    KeyMemo small(KeyMemo::Bounds{1024, 1024, 2048});
    for (int i = 0; i < 200; ++i) {
        const Raw raw{R"({"text":")" + std::string(300, 'a' + i % 26) + std::to_string(i) + "\"}"};
        EXPECT_EQ(memo_key(small, raw, parses), direct_key(raw));
        EXPECT_LE(small.bytes(), 2048u);
    }
}

}  // namespace
