// Routing hints: the prompt as the engine reads it, the affinity key, the token estimate.
#include "llmgw/upstream/routing_hints.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/config/loader.hpp"

using llmgw::upstream::hash_text;
using llmgw::upstream::prompt_text;
using llmgw::upstream::routing_hints;
using nlohmann::json;

namespace {
llmgw::config::Config with_affinity(const std::string& affinity) {
    return llmgw::config::load_string(R"(backends:
  pool:
    balancer: engine_aware
    engine: vllm
    affinity: )" + affinity + R"(
    endpoints: [ { url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2" } ]
routes: [ { name: r, backend: pool } ]
)");
}
}  // namespace

TEST(RoutingHints, ChatMessagesInOrderWithTheirRoles) {
    const auto body = json::parse(R"({"messages":[{"role":"system","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url"}]}]})");
    EXPECT_EQ(prompt_text(body, 1000),
              "system\x1f"
              "be brief\x1euser\x1fhi\x1e");
    EXPECT_EQ(prompt_text(body, 8),
              "system\x1f"
              "b");
}

TEST(RoutingHints, CompletionPrompt) {
    EXPECT_EQ(prompt_text(json::parse(R"({"prompt":"once upon"})"), 100), "once upon");
    EXPECT_EQ(prompt_text(json::parse(R"({"input":"x"})"), 100), "");
}

TEST(RoutingHints, PrefixBlocksOnlyWithPrefixAffinity) {
    const auto config = with_affinity("{ by: prefix, block_bytes: 16, prefix_bytes: 64 }");
    const auto body = json::parse(R"({"model":"m","max_tokens":100,"prompt":")" +
                                  std::string(200, 'x') + R"("})");
    const auto hints = routing_hints(config.backends[0], &body, 220, "", "alice");
    EXPECT_EQ(hints.prefix_blocks.size(), 4u);  // prefix_bytes bounds what is looked at
    EXPECT_FALSE(hints.affinity_key);
    EXPECT_EQ(hints.estimated_tokens, 220 / 4 + 100);
    EXPECT_EQ(hints.model, hash_text("m"));
}

TEST(RoutingHints, HeaderAndConsumerKeys) {
    const auto by_header = with_affinity("{ by: header, header: X-Session }");
    EXPECT_EQ(by_header.backends[0].affinity->header, "x-session");
    EXPECT_EQ(routing_hints(by_header.backends[0], nullptr, 0, "s1", "alice").affinity_key,
              hash_text("s1"));
    EXPECT_FALSE(routing_hints(by_header.backends[0], nullptr, 0, "", "alice").affinity_key);
    const auto by_consumer = with_affinity("{ by: consumer }");
    EXPECT_EQ(routing_hints(by_consumer.backends[0], nullptr, 0, "s1", "alice").affinity_key,
              hash_text("alice"));
}
