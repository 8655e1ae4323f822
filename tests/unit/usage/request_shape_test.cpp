// Each endpoint's shape, its output cap and its estimate, as admission and settling read them.
#include "llmgw/usage/request_shape.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using llmgw::usage::EndpointShape;
using nlohmann::json;
namespace usage = llmgw::usage;

TEST(RequestShape, IsToldFromThePathWithOrWithoutVersion) {
    EXPECT_EQ(usage::shape_of("/v1/chat/completions"), EndpointShape::chat_completions);
    EXPECT_EQ(usage::shape_of("/v1/completions"), EndpointShape::completions);
    EXPECT_EQ(usage::shape_of("/v1/embeddings"), EndpointShape::embeddings);
    EXPECT_EQ(usage::shape_of("/v1/responses"), EndpointShape::responses);
    EXPECT_EQ(usage::shape_of("/v1/messages"), EndpointShape::messages);
    EXPECT_EQ(usage::shape_of("/v1/audio/transcriptions"), EndpointShape::transcriptions);
    EXPECT_EQ(usage::shape_of("/v1/rerank"), EndpointShape::rerank);
    EXPECT_EQ(usage::shape_of("/rerank"), EndpointShape::rerank);
    EXPECT_EQ(usage::shape_of("/score"), EndpointShape::score);
    EXPECT_EQ(usage::shape_of("/tokenize"), EndpointShape::tokenize);
    EXPECT_EQ(usage::shape_of("/v2/models/llama/generate_stream"), EndpointShape::triton_generate);
    EXPECT_EQ(usage::shape_of("/v1/models"), EndpointShape::other);
    EXPECT_EQ(usage::shape_of("/v1/chat/completions/"), EndpointShape::chat_completions);
}

TEST(RequestShape, ReadsTheOutputCapFromEachEndpointsOwnField) {
    const auto chat = json::parse(R"({"max_tokens":10,"max_completion_tokens":20})");
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::chat_completions, chat), 20u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::chat_completions,
                                       json::parse(R"({"max_tokens":10})")),
              10u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::completions, chat), 10u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::messages, chat), 10u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::responses, chat), std::nullopt);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::responses,
                                       json::parse(R"({"max_output_tokens":30})")),
              30u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::triton_generate,
                                       json::parse(R"({"parameters":{"max_tokens":40}})")),
              40u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::embeddings, chat), 0u);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::rerank, json::object()), 0u);
}

TEST(RequestShape, IgnoresCapsThatAreNotCounts) {
    EXPECT_EQ(
        usage::max_output_tokens(EndpointShape::completions, json::parse(R"({"max_tokens":-1})")),
        std::nullopt);
    EXPECT_EQ(
        usage::max_output_tokens(EndpointShape::completions, json::parse(R"({"max_tokens":"9"})")),
        std::nullopt);
    EXPECT_EQ(usage::max_output_tokens(EndpointShape::chat_completions, json::array()),
              std::nullopt);
}

TEST(RequestShape, OnlyChatAndCompletionsCanBeAskedForStreamUsage) {
    EXPECT_TRUE(usage::supports_stream_usage(EndpointShape::chat_completions));
    EXPECT_TRUE(usage::supports_stream_usage(EndpointShape::completions));
    EXPECT_FALSE(usage::supports_stream_usage(EndpointShape::responses));
    EXPECT_FALSE(usage::supports_stream_usage(EndpointShape::messages));
    EXPECT_FALSE(usage::supports_stream_usage(EndpointShape::transcriptions));
}

TEST(RequestShape, EstimatesPromptOnlyWhereTheAnswerIsNotText) {
    const auto chat = usage::estimate_usage(EndpointShape::chat_completions, 400, 80);
    EXPECT_EQ(chat.prompt_tokens, 100u);
    EXPECT_EQ(chat.completion_tokens, 20u);
    EXPECT_TRUE(chat.estimated);
    const auto embeddings = usage::estimate_usage(EndpointShape::embeddings, 400, 80000);
    EXPECT_EQ(embeddings.prompt_tokens, 100u);
    EXPECT_EQ(embeddings.completion_tokens, 0u);
    const auto audio = usage::estimate_usage(EndpointShape::transcriptions, 1 << 20, 40);
    EXPECT_EQ(audio.prompt_tokens, 0u);
    EXPECT_EQ(audio.completion_tokens, 10u);
    EXPECT_EQ(usage::estimate_usage(EndpointShape::tokenize, 400, 80).total(), 0u);
    EXPECT_EQ(usage::estimate_usage(EndpointShape::other, 400, 80).total(), 0u);
}

TEST(RequestShape, TritonsGenerateStreamIsAStreamByItsPath) {
    EXPECT_TRUE(usage::asks_for_stream(EndpointShape::triton_generate,
                                       "/v2/models/m/generate_stream", nullptr));
    const auto body = json::parse(R"({"stream":true})");
    EXPECT_TRUE(
        usage::asks_for_stream(EndpointShape::chat_completions, "/v1/chat/completions", &body));
    EXPECT_FALSE(
        usage::asks_for_stream(EndpointShape::triton_generate, "/v2/models/m/generate", nullptr));
}

// The text's answer, when it gives one, is the parsed body's; it gives up on what it cannot be
// sure of, and the caller parses.
TEST(RequestShape, TheTextSaysWhetherAStreamIsAskedForAsTheParsedBodyDoes) {
    const auto chat = EndpointShape::chat_completions;
    const char* path = "/v1/chat/completions";
    const std::vector<std::string> bodies = {
        R"({"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]})",
        R"({"model":"m","stream":true,"messages":[]})",
        R"({ "stream" : true })",
        R"({"stream":"true"})",
        R"({"stream":1})",
        R"({"stream":null})",
        R"({"stream":true,"stream":false})",
        R"({"stream":false,"stream":true})",
        R"({"options":{"stream":true},"model":"m"})",
        R"({"messages":[{"content":"\"stream\": true"}]})",
        R"({"stream":tru})",
        R"({"stream":true,})",
        R"({"stream":true} x)",
        R"(["stream",true])",
        R"({"str\u0065am":true})",
        R"({"model":"é","stream":true})",
    };
    int answered = 0;
    for (const auto& body : bodies) {
        const auto parsed = json::parse(body, nullptr, false);
        const bool expected =
            usage::asks_for_stream(chat, path, parsed.is_discarded() ? nullptr : &parsed);
        if (const auto said = usage::text_asks_for_stream(chat, path, body)) {
            ++answered;
            EXPECT_EQ(*said, expected) << body;
            EXPECT_FALSE(parsed.is_discarded()) << body;
        }
    }
    EXPECT_GE(answered, 10);
    EXPECT_EQ(usage::text_asks_for_stream(chat, path, R"({"stream":false,"stream":true})"), true);
    EXPECT_EQ(usage::text_asks_for_stream(chat, path, R"({"model":"m","stream":false})"), false);
    EXPECT_EQ(usage::text_asks_for_stream(EndpointShape::triton_generate,
                                          "/v2/models/m/generate_stream", "not json"),
              true);
}
