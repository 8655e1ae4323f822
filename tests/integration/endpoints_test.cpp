// Each OpenAI-compatible endpoint vLLM and Triton serve, streamed and not: its token usage is
// read as that endpoint reports it and counted in the access log, the metrics and the limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* key = "sk-endpoints-key-1";
constexpr std::uint64_t daily_tokens = 1000000;
constexpr int words = 3;  // x-fake-chunks: the output tokens the fake model server produces

std::string config(const FakeModel& model) {
    return "tiers: { pro: { quota: { tokens_per_day: " + std::to_string(daily_tokens) +
           " } } }\n"
           "consumers: [ { name: acme, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(key) +
           "\" } ] } ]\n"
           "backends: { vllm: { endpoints: [ { url: \"" +
           model.url() +
           "\" } ] } }\n"
           "routes:\n"
           "  - { name: triton, backend: vllm, match: { path_prefix: /v2/models/, model: llama,"
           " model_from: path }, rewrite: { model: llama-ensemble } }\n"
           "  - { name: all, backend: vllm }\n";
}

// One call: what is sent and what the access log must then say.
struct Case {
    std::string path;
    std::string body;
    bool stream = false;
    std::string content_type = "application/json";
    // Expected completion tokens (reported); nullopt: estimated from the answer's size.
    std::optional<std::uint64_t> completion;
    bool prompt_counted = true;  // false: no prompt tokens (audio, tokenize)
};

const std::string multipart_boundary = "llmgw-boundary";

std::string audio_form(bool stream) {
    const auto field = [](const std::string& name, const std::string& value) {
        return "--" + multipart_boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
               "\"\r\n\r\n" + value + "\r\n";
    };
    return field("model", "whisper") + (stream ? field("stream", "true") : "") + "--" +
           multipart_boundary +
           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
           "Content-Type: audio/wav\r\n\r\nRIFF....WAVEfmt \r\n--" +
           multipart_boundary + "--\r\n";
}

std::vector<Case> cases() {
    const std::string chat = R"({"model":"m","messages":[{"role":"user","content":"hi"}])";
    const std::string prompt = R"({"model":"m","prompt":"hello there")";
    const std::string responses = R"({"model":"m","input":"hello there")";
    const std::string messages =
        R"({"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hi"}])";
    const std::string form = "multipart/form-data; boundary=" + multipart_boundary;
    return {
        {"/v1/chat/completions", chat + "}", false, "application/json", words},
        {"/v1/chat/completions", chat + R"(,"stream":true})", true, "application/json", words},
        {"/v1/completions", prompt + "}", false, "application/json", words},
        {"/v1/completions", prompt + R"(,"stream":true})", true, "application/json", words},
        {"/v1/embeddings", R"({"model":"m","input":["a","b"]})", false, "application/json", 0},
        {"/v1/responses", responses + "}", false, "application/json", words},
        {"/v1/responses", responses + R"(,"stream":true})", true, "application/json", words},
        {"/v1/messages", messages + "}", false, "application/json", words},
        {"/v1/messages", messages + R"(,"stream":true})", true, "application/json", words},
        {"/v1/audio/transcriptions", audio_form(false), false, form, std::nullopt, false},
        {"/v1/audio/transcriptions", audio_form(true), true, form, std::nullopt, false},
        {"/v1/rerank", R"({"model":"m","query":"q","documents":["a","b"]})", false,
         "application/json", 0},
        {"/score", R"({"model":"m","text_1":"a","text_2":"b"})", false, "application/json", 0},
        {"/tokenize", R"({"model":"m","prompt":"hello"})", false, "application/json", 0, false},
        {"/v2/models/llama/generate", R"({"text_input":"hi","max_tokens":8})", false,
         "application/json", std::nullopt},
        {"/v2/models/llama/generate_stream", R"({"text_input":"hi"})", true, "application/json",
         std::nullopt},
    };
}

std::string call(const RunningGateway& gateway, const Case& c, const std::string& request_id) {
    const HttpRequest request{"POST",
                              c.path,
                              {{"authorization", std::string("Bearer ") + key},
                               {"content-type", c.content_type},
                               {"x-request-id", request_id},
                               {"x-fake-chunks", std::to_string(words)},
                               {"x-fake-chunk-interval-ms", "1"}},
                              c.body};
    if (!c.stream) {
        const auto answer = http_request(gateway.port(), request);
        EXPECT_EQ(answer.status, 200) << c.path << " " << answer.body;
        return answer.body;
    }
    const auto answer = http_stream(gateway.port(), request);
    EXPECT_TRUE(answer.complete) << c.path << " " << answer.error;
    EXPECT_EQ(answer.status, 200) << c.path;
    EXPECT_THAT(answer.header("content-type"), HasSubstr("text/event-stream")) << c.path;
    return answer.body();
}

}  // namespace

TEST(Endpoints, EachEndpointsUsageIsCountedInTheLogTheMetricsAndTheLimits) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model));
    const auto all = cases();
    for (std::size_t i = 0; i < all.size(); ++i) call(gateway, all[i], "case-" + std::to_string(i));
    ASSERT_TRUE(gateway.wait_for_access_lines(all.size(), 5s));

    std::uint64_t prompt_sum = 0;
    std::uint64_t completion_sum = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& c = all[i];
        const auto line = gateway.access_line_where("request_id", "case-" + std::to_string(i));
        ASSERT_TRUE(line.is_object()) << c.path;
        const auto what = c.path + (c.stream ? " streamed" : "");
        const auto prompt = line["prompt_tokens"].get<std::uint64_t>();
        const auto completion = line["completion_tokens"].get<std::uint64_t>();
        EXPECT_EQ(line["tokens_estimated"], !c.completion.has_value()) << what;
        if (c.completion)
            EXPECT_EQ(completion, *c.completion) << what;
        else
            EXPECT_GT(completion, 0u) << what;
        if (c.prompt_counted)
            EXPECT_GT(prompt, 0u) << what;
        else
            EXPECT_EQ(prompt, 0u) << what;
        prompt_sum += prompt;
        completion_sum += completion;
    }
    // The consumer's token quota was debited by exactly what the log says.
    const auto after = http_request(
        gateway.port(), {"GET", "/v1/models", {{"authorization", std::string("Bearer ") + key}}});
    EXPECT_EQ(after.header("x-ratelimit-remaining-tokens"),
              std::to_string(daily_tokens - prompt_sum - completion_sum));
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_tokens_total{consumer="acme",kind="prompt"} )" +
                                   std::to_string(prompt_sum) + "\n"));
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_tokens_total{consumer="acme",kind="completion"} )" +
                                   std::to_string(completion_sum) + "\n"));
}

TEST(Endpoints, StreamUsageIsAskedForOnlyWhereTheEndpointKnowsTheOption) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model));
    for (const auto& c : cases()) {
        if (!c.stream || c.content_type != "application/json") continue;
        call(gateway, c, "x");
        const auto sent = model.stats()["last_request"]["body"].get<std::string>();
        const bool asked = sent.find("stream_options") != std::string::npos;
        EXPECT_EQ(asked, c.path == "/v1/chat/completions" || c.path == "/v1/completions") << c.path;
    }
}

TEST(Endpoints, TritonsModelIsMatchedAndRewrittenInThePath) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(config(model));
    const auto answer =
        http_request(gateway.port(), {"POST",
                                      "/v2/models/llama/generate",
                                      {{"authorization", std::string("Bearer ") + key}},
                                      R"({"text_input":"hi"})"});
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.json()["model_name"], "llama-ensemble");
    EXPECT_EQ(model.stats()["last_request"]["body"], R"({"text_input":"hi"})");
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway.access_log_lines()[0]["route"], "triton");
}
