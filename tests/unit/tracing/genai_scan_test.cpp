// The GenAI request attributes read from the body's text agree with those read from the
// parsed body, and whatever the scan cannot be sure of is left to the parser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/tracing/genai.hpp"

namespace llmgw::tracing {
namespace {

void expect_same_as_parsed(std::string_view body) {
    SCOPED_TRACE(std::string(body));
    const auto scanned = scan_genai_request("/v1/chat/completions", body);
    ASSERT_TRUE(scanned.has_value());
    const auto json = nlohmann::json::parse(body, nullptr, false);
    const auto parsed =
        genai_request("/v1/chat/completions", json.is_discarded() ? nullptr : &json);
    EXPECT_EQ(scanned->operation, parsed.operation);
    EXPECT_EQ(scanned->model, parsed.model);
    EXPECT_EQ(scanned->max_tokens, parsed.max_tokens);
    EXPECT_EQ(scanned->stream, parsed.stream);
}

TEST(GenAiScan, ReadsTheTopLevelKeysAsTheParserDoes) {
    expect_same_as_parsed(
        R"({"model":"m","max_tokens":12,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
    // Keys inside nested values are not the request's: a prompt may say "model".
    expect_same_as_parsed(
        R"({"messages":[{"content":"{\"model\":\"x\",\"stream\":true}","model":"y"}],"model":"m"})");
    expect_same_as_parsed(R"( { "model" : "m" , "stream" : false , "max_tokens" : 7 } )");
    expect_same_as_parsed(R"({"max_tokens":5,"max_completion_tokens":9,"model":"m"})");
    expect_same_as_parsed(R"({"max_completion_tokens":1.5,"max_tokens":3})");
    expect_same_as_parsed(R"({"max_tokens":"12","stream":"true","model":7})");
    expect_same_as_parsed(R"({"max_tokens":null,"stream":1,"model":null})");
    expect_same_as_parsed(R"({"max_tokens":-4,"tools":[[],{},{"a":[1,{"b":"]}"}]}]})");
    expect_same_as_parsed(R"({"model":"a","model":"b"})");  // the last one, as parsed
    expect_same_as_parsed(R"({"n":"a\\","model":"m"})");     // an escaped backslash ends "a\\"
    expect_same_as_parsed("{}");
}

TEST(GenAiScan, LeavesWhatItCannotBeSureOfToTheParser) {
    const auto path = "/v1/chat/completions";
    EXPECT_FALSE(scan_genai_request(path, R"({"model":"m\u00e9"})"));      // an escape
    EXPECT_FALSE(scan_genai_request(path, R"({"mod\u0065l":"m"})"));       // an escaped key
    EXPECT_FALSE(scan_genai_request(path, R"({"max_tokens":99999999999999999999})"));
    EXPECT_FALSE(scan_genai_request(path, R"({"model":"m")"));             // cut short
    EXPECT_FALSE(scan_genai_request(path, R"({"model":"m"} x)"));          // trailing text
    EXPECT_FALSE(scan_genai_request(path, R"({"model":tru})"));            // not a literal
    EXPECT_FALSE(scan_genai_request(path, R"(["model","m"])"));            // not an object
    EXPECT_FALSE(scan_genai_request(path, "not json"));
    EXPECT_FALSE(scan_genai_request(path, ""));
}

TEST(GenAiScan, ReadsNoBodyForAPathThatIsNoModelCall) {
    const auto request = scan_genai_request("/v1/models?x=1", "not json");
    ASSERT_TRUE(request);
    EXPECT_EQ(request->operation, "");
    EXPECT_EQ(scan_genai_request("/v1/embeddings?x=1", R"({"model":"e"})")->model, "e");
}

}  // namespace
}  // namespace llmgw::tracing
