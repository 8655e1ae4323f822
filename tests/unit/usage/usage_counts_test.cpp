// A usage object read from its text gives the figures the parsed object gives, whenever the
// reader answers; and a scanner reads a plain answer's usage that way.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "llmgw/usage/plain_json.hpp"
#include "llmgw/usage/usage_scanner.hpp"

using llmgw::usage::read_usage_counts;
using llmgw::usage::UsageCounts;

namespace {

// The figures as the scanner takes them from a parsed usage object.
std::optional<std::uint64_t> parsed_count(const nlohmann::json& usage, const char* a, const char* b) {
    for (const char* key : {a, b}) {
        const auto it = usage.find(key);
        if (it != usage.end() && it->is_number_unsigned()) return it->get<std::uint64_t>();
    }
    return std::nullopt;
}

// True when the text reader answered (then with the parsed object's figures).
bool agrees(const std::string& object) {
    const auto text = read_usage_counts(object);
    if (!text) return false;
    const auto json = nlohmann::json::parse(object, nullptr, false);
    EXPECT_TRUE(json.is_object()) << object;
    if (!json.is_object()) return true;
    EXPECT_EQ(text->prompt, parsed_count(json, "prompt_tokens", "input_tokens")) << object;
    EXPECT_EQ(text->completion, parsed_count(json, "completion_tokens", "output_tokens")) << object;
    EXPECT_EQ(text->total, parsed_count(json, "total_tokens", "total_tokens")) << object;
    return true;
}

}  // namespace

TEST(UsageCounts, ReadsPlainUsageObjectsAsTheParserDoes) {
    const std::vector<std::string> objects = {
        R"({"prompt_tokens":7,"completion_tokens":3,"total_tokens":10})",
        R"({"prompt_tokens":12,"total_tokens":28,"completion_tokens":16,"prompt_tokens_details":null})",
        R"({"input_tokens":5,"output_tokens":9,"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0}})",
        R"( { "prompt_tokens" : -0 , "input_tokens" : 4, "completion_tokens": 2.0, "output_tokens": 6 } )",
        R"({"total_tokens":40})",
        R"({"seconds":3.5,"type":"duration"})",
        "{}",
    };
    for (const auto& object : objects) EXPECT_TRUE(agrees(object)) << object;
}

TEST(UsageCounts, LeavesToTheParserWhatItIsNotSureAbout) {
    for (const std::string object :
         {R"({"prompt_tokens":1,"prompt_tokens":2})", R"({"prompt_tokens":1e1})",
          R"({"prompt\u005ftokens":1})", R"({"prompt_tokens":99999999999999999999})",
          R"({"note":"d\u00e9j\u00e0","prompt_tokens":1})", R"({"prompt_tokens":1,})",
          R"({"prompt_tokens":1} trailing)", R"([1])", ""})
        EXPECT_FALSE(read_usage_counts(object)) << object;
}

TEST(UsageCounts, AScannerReadsAPlainAnswersUsage) {
    llmgw::usage::UsageScanner scanner(false, false);
    scanner.feed(R"({"id":"c","choices":[{"message":{"content":"hi"}}],)");
    scanner.feed(R"("usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})");
    scanner.finish();
    ASSERT_TRUE(scanner.usage());
    EXPECT_EQ(scanner.usage()->prompt_tokens, 7u);
    EXPECT_EQ(scanner.usage()->completion_tokens, 3u);
}

// The scanner reads a flat usage object where it stands (up to its '}') and cuts any other out
// first: both give the figures of the parsed answer, whatever follows the object.
TEST(UsageCounts, AScannerReadsFlatAndNestedUsageAsTheParsedAnswer) {
    const std::vector<std::string> answers = {
        R"({"choices":[],"usage":{"prompt_tokens":22,"total_tokens":30,"completion_tokens":8}})",
        R"({"usage": { "prompt_tokens" : 5 ,"completion_tokens":null } , "system_fingerprint":"x"})",
        R"({"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,)"
        R"("prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":null}})",
        R"({"usage":{"input_tokens":3,"output_tokens":-1,"note":"a}b"}})",
        R"({"usage":{"prompt_tokens":1,"prompt_tokens":2}})",
    };
    for (const auto& answer : answers) {
        llmgw::usage::UsageScanner scanner(false, false);
        scanner.feed(answer);
        scanner.finish();
        const auto usage = nlohmann::json::parse(answer).at("usage");
        ASSERT_TRUE(scanner.usage()) << answer;
        EXPECT_EQ(scanner.usage()->prompt_tokens,
                  parsed_count(usage, "prompt_tokens", "input_tokens").value_or(0)) << answer;
        EXPECT_EQ(scanner.usage()->completion_tokens,
                  parsed_count(usage, "completion_tokens", "output_tokens").value_or(0)) << answer;
    }
}

TEST(UsageCounts, AgreesWithTheParsedObjectOnRandomObjects) {
    std::mt19937 random(17);
    const auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
    };
    const char* keys[] = {"prompt_tokens", "input_tokens", "completion_tokens", "output_tokens",
                          "total_tokens", "details", "text", "content", "total\\u005ftokens"};
    const char* values[] = {"0", "-0", "7", "-3", "16", "2.5", "1e2", "99999999999999999999",
                            "123456789012345678", "\"7\"", "true", "null", "{\"a\":[1,{}]}",
                            "[]", "\"\\u00e9\"", "\"\xc3\xa9\"", "{\"text\":1,\"text\":2}"};
    int answered = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string object = "{";
        for (std::size_t m = 0, n = pick(6); m < n; ++m)
            object += std::string(m ? "," : "") + "\"" + keys[pick(std::size(keys))] +
                      "\":" + values[pick(std::size(values))];
        object += "}";
        if (pick(10) == 0) object[pick(object.size())] = "{}[],:\"\\ x1-."[pick(13)];
        if (agrees(object)) ++answered;
    }
    EXPECT_GT(answered, 3000);  // the comparison means something only if it answered often
}

// Strings are read eight bytes a step: a quote, backslash, control or non-ASCII byte at any
// place in a long run is found where a byte-at-a-time reading finds it. Checked against the
// parser: when the reader answers, it gives the decoded length and stops after the closing quote.
TEST(UsageCounts, AStringsEndAndEscapesAreFoundAtEveryOffset) {
    std::mt19937 random(29);
    const auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
    };
    const std::vector<std::string> specials = {"\\\"", "\\\\", "\\n", "\\/", "\\u0041", "\\x",
                                               "\x01", "\x1f", "\xc3\xa9", "\x7f", " "};
    int answered = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string inner(pick(40), 'a');
        for (auto& c : inner) c = static_cast<char>('a' + pick(26));
        if (pick(4) != 0) inner.insert(pick(inner.size() + 1), specials[pick(specials.size())]);
        const std::string text = "\"" + inner + "\",7";
        llmgw::usage::PlainJsonReader reader(text);
        const auto bytes = reader.string();
        const auto parsed = nlohmann::json::parse(text.substr(0, inner.size() + 2), nullptr, false);
        if (!bytes) continue;
        ++answered;
        ASSERT_TRUE(parsed.is_string()) << text;
        EXPECT_EQ(*bytes, parsed.get<std::string>().size()) << text;
        EXPECT_TRUE(reader.take(',')) << text;  // it stopped right after the closing quote
    }
    EXPECT_GT(answered, 10000);
}
