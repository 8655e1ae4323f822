// The OTLP/HTTP JSON encoding: hex ids, integer enums, int64 and times as strings.
#include "llmgw/tracing/otlp_json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/tracing/request_trace.hpp"

namespace llmgw::tracing {
namespace {

TEST(OtlpJson, EncodesAnExportTraceServiceRequest) {
    const auto parent =
        parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    RequestTrace trace(parent, "");
    trace.genai = {"chat", "llama", 64, true};
    std::array<char, traceparent_length> traceparent;
    const auto attempt = trace.start_attempt("127.0.0.1", 8000, 0, traceparent);
    trace.span(attempt).events.push_back({"llmgw.first_token", 42, {}});
    trace.span(attempt).status = StatusCode::error;
    trace.span(attempt).set("gen_ai.response.finish_reasons", std::vector<std::string>{"stop"});
    trace.end(attempt);
    trace.span(RequestTrace::server_span).name = "POST chat";
    trace.end(RequestTrace::server_span);
    const auto encoded = nlohmann::json::parse(encode_otlp_json(trace.take(), "gw", "1.2.3"));

    const auto& resource = encoded["resourceSpans"][0];
    EXPECT_EQ(resource["resource"]["attributes"][0],
              (nlohmann::json{{"key", "service.name"}, {"value", {{"stringValue", "gw"}}}}));
    const auto& spans = resource["scopeSpans"][0]["spans"];
    EXPECT_EQ(resource["scopeSpans"][0]["scope"]["name"], "llmgw");
    ASSERT_EQ(spans.size(), 2u);
    const auto& server = spans[0];
    EXPECT_EQ(server["traceId"], "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(server["parentSpanId"], "b7ad6b7169203331");
    EXPECT_EQ(server["kind"], 2);
    EXPECT_EQ(server["name"], "POST chat");
    EXPECT_TRUE(server["startTimeUnixNano"].is_string());
    const auto& client = spans[1];
    EXPECT_EQ(client["kind"], 3);
    EXPECT_EQ(client["name"], "chat llama");
    EXPECT_EQ(client["parentSpanId"], server["spanId"]);
    EXPECT_EQ(client["spanId"].get<std::string>().size(), 16u);
    EXPECT_EQ(std::string(traceparent.data(), traceparent.size()),
              "00-0af7651916cd43dd8448eb211c80319c-" + client["spanId"].get<std::string>() + "-01");
    EXPECT_EQ(client["status"]["code"], 2);
    EXPECT_EQ(client["events"][0], (nlohmann::json{{"timeUnixNano", "42"},
                                                   {"name", "llmgw.first_token"},
                                                   {"attributes", nlohmann::json::array()}}));
    auto attribute = [&](const std::string& key) {
        for (const auto& a : client["attributes"])
            if (a["key"] == key) return a["value"];
        return nlohmann::json();
    };
    EXPECT_EQ(attribute("server.port"), (nlohmann::json{{"intValue", "8000"}}));
    EXPECT_EQ(attribute("gen_ai.request.max_tokens"), (nlohmann::json{{"intValue", "64"}}));
    EXPECT_EQ(attribute("gen_ai.request.stream"), (nlohmann::json{{"boolValue", true}}));
    EXPECT_EQ(attribute("gen_ai.provider.name"), (nlohmann::json{{"stringValue", "openai"}}));
    EXPECT_EQ(attribute("gen_ai.response.finish_reasons"),
              (nlohmann::json{{"arrayValue", {{"values", {{{"stringValue", "stop"}}}}}}}));
}

TEST(OtlpJson, ARootSpanHasNoParentSpanId) {
    RequestTrace trace(std::nullopt, "ignored without a parent");
    EXPECT_TRUE(trace.tracestate().empty());
    const auto encoded = nlohmann::json::parse(encode_otlp_json(trace.take(), "gw", "1"));
    EXPECT_FALSE(encoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0].contains("parentSpanId"));
}

TEST(OtlpJson, EscapesQuotesBackslashesControlAndNonAsciiBytes) {
    RequestTrace trace(std::nullopt, "");
    trace.span(RequestTrace::server_span).name = "a\"b\\c\x01" "d\xe9";
    trace.span(RequestTrace::server_span).set("gen_ai.response.model", std::string("m\n\"x\""));
    const auto text = encode_otlp_json(trace.take(), "gw", "1");
    const auto encoded = nlohmann::json::parse(text);  // the bytes above leave valid JSON
    const auto& span = encoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    // Every non-ASCII byte becomes \u00XX: the byte 0xe9 reads back as U+00E9.
    EXPECT_EQ(span["name"], "a\"b\\c\x01" "d\xc3\xa9");
    EXPECT_NE(text.find(R"("a\"b\\c\u0001d\u00e9")"), std::string::npos);
    EXPECT_EQ(span["attributes"][0]["value"]["stringValue"], "m\n\"x\"");
}

// Strings are checked eight bytes at a time: a byte to escape is found wherever it stands,
// and the bytes that need none (0x20, 0x7f, '!', '#', ']') are copied as they are.
TEST(OtlpJson, FindsTheByteToEscapeAtEveryPositionOfALongString) {
    for (const char special : {'"', '\\', '\x1f', '\0', '\x80', '\xff'}) {
        for (std::size_t at = 0; at < 19; ++at) {
            std::string name(19, 'a');
            name[at] = special;
            RequestTrace trace(std::nullopt, "");
            trace.span(RequestTrace::server_span).name = name;
            const auto text = encode_otlp_json(trace.take(), "gw", "1");
            const auto encoded = nlohmann::json::parse(text);
            const auto decoded =
                encoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"].get<std::string>();
            if (static_cast<unsigned char>(special) < 0x80)
                EXPECT_EQ(decoded, name) << int(special) << " at " << at;
            else  // a non-ASCII byte reads back as the code point of its value
                EXPECT_EQ(decoded.size(), 20u) << int(special) << " at " << at;
        }
    }
    RequestTrace trace(std::nullopt, "");
    trace.span(RequestTrace::server_span).name = "plain ! # ] ~\x7f text of 26";
    const auto text = encode_otlp_json(trace.take(), "gw", "1");
    EXPECT_NE(text.find("\"plain ! # ] ~\x7f text of 26\""), std::string::npos);
}

// Times are written digit pair by digit pair when they have 19 digits, else by to_chars.
TEST(OtlpJson, WritesTimesAsQuotedDecimalNanoseconds) {
    for (const TimeNs time : {TimeNs{1'764'912'345'678'901'234ULL}, TimeNs{1'000'000'000'000'000'000ULL},
                              TimeNs{9'999'999'999'999'999'999ULL}, TimeNs{1'090'807'060'504'030'201ULL},
                              TimeNs{999'999'999'999'999'999ULL}, TimeNs{10'000'000'000'000'000'000ULL},
                              TimeNs{7}}) {
        RequestTrace trace(std::nullopt, "");
        trace.span(RequestTrace::server_span).start = time;
        trace.span(RequestTrace::server_span).end = time;
        const auto encoded = nlohmann::json::parse(encode_otlp_json(trace.take(), "gw", "1"));
        const auto& span = encoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        EXPECT_EQ(span["startTimeUnixNano"], std::to_string(time));
        EXPECT_EQ(span["endTimeUnixNano"], std::to_string(time));
    }
}

}  // namespace
}  // namespace llmgw::tracing
