// Usage found in JSON answers and SSE streams, however the bytes are split.
#include "llmgw/usage/usage_scanner.hpp"

#include <gtest/gtest.h>

using llmgw::usage::UsageScanner;

namespace {
const std::string json_answer =
    R"({"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}})";
const std::string stream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: "
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}"
    "\n\n"
    "data: [DONE]\n\n";

// Feeds `text` in pieces of `size` bytes and returns what would reach the client.
std::string relay(UsageScanner& scanner, const std::string& text, std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += size)
        out += scanner.feed(std::string_view(text).substr(i, size));
    out += scanner.finish();
    return out;
}
}  // namespace

TEST(UsageScanner, ReadsUsageFromAJsonAnswerSplitAnywhere) {
    for (std::size_t size : {1u, 7u, 1000u}) {
        UsageScanner scanner(false, false);
        EXPECT_EQ(relay(scanner, json_answer, size), json_answer);
        ASSERT_TRUE(scanner.usage()) << size;
        EXPECT_EQ(scanner.usage()->prompt_tokens, 12u);
        EXPECT_EQ(scanner.usage()->completion_tokens, 34u);
        EXPECT_FALSE(scanner.usage()->estimated);
    }
}

TEST(UsageScanner, ReadsUsageFromTheLastChunkOfAStreamAndPassesEverythingByDefault) {
    for (std::size_t size : {1u, 13u, 4096u}) {
        UsageScanner scanner(true, false);
        EXPECT_EQ(relay(scanner, stream, size), stream);
        ASSERT_TRUE(scanner.usage());
        EXPECT_EQ(scanner.usage()->total(), 12u);
    }
}

TEST(UsageScanner, DropsOnlyTheUsageOnlyEventWhenAsked) {
    for (std::size_t size : {1u, 13u, 4096u}) {
        UsageScanner scanner(true, true);
        const auto out = relay(scanner, stream, size);
        EXPECT_EQ(out.find("\"usage\""), std::string::npos) << size;
        EXPECT_NE(out.find("finish_reason"), std::string::npos);
        EXPECT_NE(out.find("[DONE]"), std::string::npos);
        EXPECT_EQ(scanner.usage()->total(), 12u);
    }
}

TEST(UsageScanner, HandlesCrLfEventsAndMissingUsage) {
    UsageScanner with_crlf(true, true);
    const std::string crlf =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\r\n\r\n";
    EXPECT_EQ(relay(with_crlf, crlf, 5), "");
    EXPECT_EQ(with_crlf.usage()->total(), 3u);

    UsageScanner none(false, false);
    relay(none, R"({"choices":[]})", 4);
    EXPECT_FALSE(none.usage());
    const auto guess = UsageScanner::estimate(400, 80);
    EXPECT_EQ(guess.prompt_tokens, 100u);
    EXPECT_EQ(guess.completion_tokens, 20u);
    EXPECT_TRUE(guess.estimated);
}

TEST(UsageScanner, GivesUpOnJsonLargerThanTheBound) {
    UsageScanner scanner(false, false);
    std::string big = R"({"pad":")" + std::string(UsageScanner::max_json_bytes, 'x') +
                      R"(","usage":{"prompt_tokens":1}})";
    EXPECT_EQ(relay(scanner, big, 65536).size(), big.size());
    EXPECT_FALSE(scanner.usage());
}
