// The trace's response step: first-token event, response model and finish reasons, read
// across piece boundaries; and the GenAI request attributes.
#include "llmgw/tracing/trace_step.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/tracing/genai.hpp"

namespace llmgw::tracing {
namespace {

TEST(TraceStep, MarksTheFirstTokenOnTheAttemptAndReadsTheAnswersModelAndFinishReasons) {
    RequestTrace trace(std::nullopt, "");
    std::array<char, traceparent_length> traceparent;
    const auto attempt = trace.start_attempt("h", 1, 0, traceparent);
    TraceStep step(trace);
    EXPECT_EQ(step.on_body("data: {\"id\":\"x\",\"mod", false), "data: {\"id\":\"x\",\"mod");
    step.on_body("el\": \"served-model\",\"choices\":[{\"finish_reason\":null}]}\n\n", false);
    step.on_body("data: {\"model\":\"served-model\",\"choices\":[{\"finish_reas", false);
    step.on_body("on\":\"stop\"}]}\n\ndata: [DONE]\n\n", false);
    step.on_body("", true);
    step.on_end(http::AnswerEnd::complete);
    const auto& span = trace.span(attempt);
    ASSERT_EQ(span.events.size(), 1u);
    EXPECT_EQ(span.events[0].name, "llmgw.first_token");
    EXPECT_GE(span.events[0].time, span.start);
    EXPECT_EQ(step.response_model(), "served-model");
    EXPECT_EQ(step.finish_reasons(), std::vector<std::string>{"stop"});
    ASSERT_TRUE(span.find("gen_ai.response.model"));
    EXPECT_EQ(std::get<std::string_view>(*span.find("gen_ai.response.model")), "served-model");
    EXPECT_TRUE(span.find("gen_ai.response.time_to_first_chunk"));
}

// The quotes are found eight bytes at a time: the keys are read at every offset.
TEST(TraceStep, ReadsTheKeysWhereverTheyStand) {
    for (std::size_t pad = 0; pad < 10; ++pad) {
        RequestTrace trace(std::nullopt, "");
        std::array<char, traceparent_length> traceparent;
        trace.start_attempt("h", 1, 0, traceparent);
        TraceStep step(trace);
        const std::string body = "{" + std::string(pad, ' ') +
                                 R"("id":"x","model":"m1","choices":[{"finish_reason":"length"}]})";
        step.on_body(body, true);
        EXPECT_EQ(step.response_model(), "m1") << pad;
        EXPECT_EQ(step.finish_reasons(), std::vector<std::string>{"length"}) << pad;
    }
}

TEST(TraceStep, KeepsTheFirstModelAndEachFinishReasonOnceInOrder) {
    RequestTrace trace(std::nullopt, "");
    std::array<char, traceparent_length> traceparent;
    trace.start_attempt("h", 1, 0, traceparent);
    TraceStep step(trace);
    // A model named inside a string (escaped quotes) is not the answer's.
    step.on_body(R"({"choices":[{"message":{"content":"say \"model\":\"no\""},)"
                 R"("finish_reason":"length"},{"finish_reason":"stop"},)"
                 R"({"finish_reason":"length"}],"model":"first","model":"second"})",
                 true);
    EXPECT_EQ(step.response_model(), "first");
    EXPECT_EQ(step.finish_reasons(), (std::vector<std::string>{"length", "stop"}));
}

TEST(GenAiRequest, ReadsOperationModelLimitAndStreamButNothingElse) {
    const auto body = nlohmann::json::parse(
        R"({"model":"m","max_tokens":12,"stream":true,"messages":[{"role":"user","content":"secret"}]})");
    const auto request = genai_request("/v1/chat/completions", &body);
    EXPECT_EQ(request.operation, "chat");
    EXPECT_EQ(request.model, "m");
    EXPECT_EQ(request.max_tokens, 12);
    EXPECT_TRUE(request.stream);
    EXPECT_EQ(genai_request("/v1/completions", &body).operation, "text_completion");
    EXPECT_EQ(genai_request("/v1/embeddings", nullptr).operation, "embeddings");
    EXPECT_EQ(genai_request("/v1/models", &body).operation, "");
}

}  // namespace
}  // namespace llmgw::tracing
