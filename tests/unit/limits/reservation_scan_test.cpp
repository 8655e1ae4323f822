// The reservation estimate read from a body's text agrees with the one read from the parsed body
// on every body it answers for, and answers for the plain bodies clients send.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "llmgw/limits/reservation_estimate.hpp"

using llmgw::limits::estimate_request;
using llmgw::limits::estimate_request_text;
using Shape = llmgw::usage::EndpointShape;

namespace {

constexpr std::uint64_t kDefault = 256;
const Shape kShapes[] = {Shape::chat_completions, Shape::completions, Shape::messages,
                         Shape::responses,        Shape::triton_generate, Shape::embeddings,
                         Shape::rerank,           Shape::score,           Shape::transcriptions,
                         Shape::other,            Shape::tokenize};

// The estimate of the parsed body, as the pipeline computes it without the text reader.
llmgw::limits::RequestEstimate parsed(const std::string& body, Shape shape) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    return estimate_request(json.is_discarded() ? nullptr : &json, body.size(), shape, kDefault);
}

// True when the text reader answered (for every shape, the same as the parsed body).
bool agrees(const std::string& body) {
    bool answered = false;
    for (const auto shape : kShapes) {
        const auto text = estimate_request_text(body, shape, kDefault);
        if (!text) continue;
        answered = true;
        const auto tree = parsed(body, shape);
        EXPECT_EQ(text->prompt_tokens, tree.prompt_tokens) << body << " shape " << int(shape);
        EXPECT_EQ(text->completion_tokens, tree.completion_tokens) << body << " shape " << int(shape);
    }
    return answered;
}

}  // namespace

TEST(ReservationScan, AnswersForPlainBodiesWithTheParsedBodysFigures) {
    const std::vector<std::string> bodies = {
        R"({"model":"fake-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16})",
        R"({"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"a \"quoted\"\n line"},{"type":"image_url","image_url":{"url":"x"}}]}],"max_completion_tokens":100,"max_tokens":5,"n":3,"temperature":0.7,"stream":true})",
        R"( { "prompt" : ["one", "two", [1, 2, 3]], "max_tokens": 0, "n": 0 } )",
        R"({"input":"embed me","model":"e"})",
        R"({"input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"instructions":"x","max_output_tokens":12})",
        R"({"text_input":"q","parameters":{"max_tokens":9,"temperature":1.5},"max_tokens":-1})",
        R"({"parameters":{"max_tokens":9}})",
        R"({"parameters":[{"max_tokens":9}]})",
        R"({"messages":"not an array","system":{"text":"s","content":"c","input_text":"i","other":"o"}})",
        R"({"messages":[1,"two",null,true,{"content":null},{"content":{"text":"deep"}}],"n":-0})",
        R"({"n":1.0,"max_tokens":2.5,"prompt":-12.25})",
        R"({"max_tokens":123456789012345678,"n":200})",
        R"({"a":{"b":[{"c":{}}]},"prompt":"\/\\\b\f\r\t"})",
        "{}",
    };
    for (const auto& body : bodies) EXPECT_TRUE(agrees(body)) << body;
}

TEST(ReservationScan, LeavesToTheParserWhatItIsNotSureAbout) {
    const std::vector<std::string> bodies = {
        "",
        "[]",
        "\"text\"",
        R"({"prompt":"caf\u00e9"})",
        "{\"prompt\":\"caf\xc3\xa9\"}",
        R"({"max_tokens":1e3})",
        R"({"max_tokens":12345678901234567890})",
        R"({"max_tokens":1,"max_tokens":2})",
        R"({"messages":[{"content":"a","content":"b"}]})",
        R"({"max\u005ftokens":1})",
        R"({"prompt":"a"} x)",
        R"({"prompt":"a",})",
        R"({"prompt":01})",
        "{\"prompt\":\"tab\tinside\"}",
        R"({"prompt":tru})",
        R"({"prompt":"unterminated)",
    };
    for (const auto& body : bodies)
        for (const auto shape : kShapes)
            EXPECT_FALSE(estimate_request_text(body, shape, kDefault)) << body;
}

namespace {

// Random JSON-like text: mostly valid, built from the keys the estimate reads, with escapes,
// odd numbers, repeats and, now and then, a broken byte.
class BodyMaker {
public:
    explicit BodyMaker(unsigned seed) : random_(seed) {}

    std::string body() {
        std::string out = object(0, true);
        if (pick(10) == 0 && !out.empty()) out[pick(out.size())] = "{}[],:\"\\ x1-."[pick(13)];
        return out;
    }

private:
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }

    std::string key() {
        static const char* keys[] = {"messages", "prompt", "input", "instructions", "system",
                                     "n", "max_completion_tokens", "max_tokens",
                                     "max_output_tokens", "parameters", "content", "text",
                                     "input_text", "model", "role", "max\\u005ftokens"};
        return std::string("\"") + keys[pick(std::size(keys))] + "\"";
    }
    std::string scalar() {
        static const char* values[] = {"\"hello\"", "\"\"", "\"a\\nb\\\"c\"", "\"\\u00e9t\\u00e9\"",
                                       "\"\xc3\xa9\"", "0", "-0", "7", "-3", "16", "2.5", "1e2",
                                       "99999999999999999999", "18446744073709551615", "true",
                                       "false", "null", "\"\\/x\\t\""};
        return values[pick(std::size(values))];
    }
    std::string value(int depth) {
        const auto kind = depth > 4 ? 2 : pick(5);
        if (kind == 0) return object(depth + 1, false);
        if (kind == 1) return array(depth + 1);
        return scalar();
    }
    std::string array(int depth) {
        std::string out = "[";
        for (std::size_t i = 0, n = pick(4); i < n; ++i) out += (i ? "," : "") + value(depth);
        return out + "]";
    }
    std::string object(int depth, bool top) {
        std::string out = top && pick(3) == 0 ? " {\n" : "{";
        for (std::size_t i = 0, n = pick(top ? 7 : 4); i < n; ++i)
            out += std::string(i ? ", " : "") + key() + ":" + value(depth);
        return out + "}";
    }

    std::mt19937 random_;
};

}  // namespace

TEST(ReservationScan, AgreesWithTheParsedBodyOnRandomBodies) {
    BodyMaker maker(17);
    int answered = 0;
    for (int i = 0; i < 20000; ++i)
        if (agrees(maker.body())) ++answered;
    // The comparison means something only if the reader answered for a good share of them.
    EXPECT_GT(answered, 3000);
}
