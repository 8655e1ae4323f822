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
}

TEST(UsageScanner, ReadsTheResponsesApiUsageAnswerAndItsCompletedEvent) {
    UsageScanner answer(false, false);
    relay(answer,
          R"({"object":"response","output":[],"usage":{"input_tokens":9,)"
          R"("input_tokens_details":{"cached_tokens":0},"output_tokens":4,"total_tokens":13}})",
          5);
    ASSERT_TRUE(answer.usage());
    EXPECT_EQ(answer.usage()->prompt_tokens, 9u);
    EXPECT_EQ(answer.usage()->completion_tokens, 4u);

    UsageScanner stream(true, false);
    relay(stream,
          "event: response.created\ndata: {\"type\":\"response.created\",\"response\":"
          "{\"usage\":null}}\n\n"
          "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
          "\"delta\":\"hi\"}\n\n"
          "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
          "{\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}}\n\n",
          11);
    ASSERT_TRUE(stream.usage());
    EXPECT_EQ(stream.usage()->prompt_tokens, 7u);
    EXPECT_EQ(stream.usage()->completion_tokens, 3u);
}

TEST(UsageScanner, AddsUpAnthropicMessageStartAndTheLastMessageDelta) {
    UsageScanner stream(true, false);
    relay(stream,
          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
          "{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n"
          "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
          "{\"output_tokens\":15}}\n\n"
          "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
          9);
    ASSERT_TRUE(stream.usage());
    EXPECT_EQ(stream.usage()->prompt_tokens, 25u);
    EXPECT_EQ(stream.usage()->completion_tokens, 15u);
}

TEST(UsageScanner, ATotalAloneIsInputAndAUsageWithoutTokensIsNoUsage) {
    UsageScanner rerank(false, false);
    relay(rerank, R"({"results":[{"index":0}],"usage":{"total_tokens":42}})", 8);
    ASSERT_TRUE(rerank.usage());
    EXPECT_EQ(rerank.usage()->prompt_tokens, 42u);
    EXPECT_EQ(rerank.usage()->completion_tokens, 0u);

    UsageScanner transcription(false, false);
    relay(transcription, R"({"text":"hello","usage":{"type":"duration","seconds":3}})", 8);
    EXPECT_FALSE(transcription.usage());
}

TEST(UsageScanner, GivesUpOnJsonLargerThanTheBound) {
    UsageScanner scanner(false, false);
    std::string big = R"({"pad":")" + std::string(UsageScanner::max_json_bytes, 'x') +
                      R"(","usage":{"prompt_tokens":1}})";
    EXPECT_EQ(relay(scanner, big, 65536).size(), big.size());
    EXPECT_FALSE(scanner.usage());
}
