// The OTLP/HTTP protobuf encoding: known bytes for a small request, varints at their edges,
// lengths that need longer varints than their slots, strings passed through as bytes (and
// repaired to UTF-8), and the whole tree read back by the test decoder.
#include "llmgw/tracing/otlp_proto.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "llmgw/tracing/request_trace.hpp"
#include "support/otlp_decode.hpp"

namespace llmgw::tracing {
namespace {

using testing::decode_otlp_traces;

nlohmann::json decode(const std::vector<Span>& spans) {
    return decode_otlp_traces(encode_otlp(spans, "gw", "1"));
}

const nlohmann::json& first_span(const nlohmann::json& request) {
    return request["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
}

nlohmann::json attribute(const nlohmann::json& span, const std::string& key) {
    for (const auto& a : span["attributes"])
        if (a["key"] == key) return a["value"];
    return nullptr;
}

Span small_span() {
    Span span;
    for (std::uint8_t i = 0; i < 16; ++i) span.trace_id[i] = static_cast<std::uint8_t>(i + 1);
    for (std::uint8_t i = 0; i < 8; ++i) span.span_id[i] = static_cast<std::uint8_t>(0x11 + i);
    span.name = "GET";
    span.kind = SpanKind::server;
    span.start = 1;
    span.end = 2;
    span.set("k", std::int64_t{1});
    return span;
}

// Every byte written out by hand from opentelemetry-proto's field numbers.
TEST(OtlpProto, WritesTheKnownBytesOfASmallRequest) {
    using namespace std::string_literals;
    const auto kv = [](const std::string& key, const std::string& value) {
        const auto any = "\x0a"s + char(value.size()) + value;
        const auto body = "\x0a"s + char(key.size()) + key + "\x12" + char(any.size()) + any;
        return "\x0a"s + char(body.size()) + body;
    };
    const auto resource_body = kv("service.name", "gw") + kv("service.version", "1") +
                               kv("telemetry.sdk.name", "llmgw") +
                               kv("telemetry.sdk.language", "cpp");
    ASSERT_EQ(resource_body.size(), 110u);
    const auto resource = "\x0a\x6e"s + resource_body;
    const auto scope = "\x0a\x0a\x0a\x05llmgw\x12\x01" "1"s;
    const auto span =
        "\x0a\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"s  // trace_id
        "\x12\x08\x11\x12\x13\x14\x15\x16\x17\x18"s                                  // span_id
        "\x2a\x03GET"s                                                               // name
        "\x30\x02"s                                                                  // kind
        "\x39\x01\x00\x00\x00\x00\x00\x00\x00"s                                      // start
        "\x41\x02\x00\x00\x00\x00\x00\x00\x00"s                                      // end
        "\x4a\x07\x0a\x01k\x12\x02\x18\x01"s;                                        // k = 1
    ASSERT_EQ(span.size(), 62u);
    const auto scope_spans = "\x12\x4c"s + scope + "\x12\x3e" + span;
    const auto expected = "\x0a\xbe\x01"s + resource + scope_spans;
    EXPECT_EQ(encode_otlp({small_span()}, "gw", "1"), expected);
}

TEST(OtlpProto, EncodesAnExportTraceServiceRequest) {
    const auto parent =
        parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    RequestTrace trace(parent, "");
    trace.genai = {"chat", "llama", 64, true};
    std::array<char, traceparent_length> traceparent;
    const auto attempt = trace.start_attempt("127.0.0.1", 8000, 0, traceparent);
    trace.span(attempt).events.push_back({"llmgw.first_token", 42, {}});
    trace.span(attempt).status = StatusCode::error;
    trace.span(attempt).set("gen_ai.response.finish_reasons",
                            std::vector<std::string>{"stop", "length"});
    trace.end(attempt);
    trace.span(RequestTrace::server_span).name = "POST chat";
    trace.end(RequestTrace::server_span);
    const auto encoded = decode_otlp_traces(encode_otlp(trace.take(), "gw", "1.2.3"));

    const auto& resource = encoded["resourceSpans"][0];
    EXPECT_EQ(resource["resource"]["attributes"][0],
              (nlohmann::json{{"key", "service.name"}, {"value", {{"stringValue", "gw"}}}}));
    EXPECT_EQ(resource["scopeSpans"][0]["scope"],
              (nlohmann::json{{"name", "llmgw"}, {"version", "1.2.3"}}));
    const auto& spans = resource["scopeSpans"][0]["spans"];
    ASSERT_EQ(spans.size(), 2u);
    const auto& server = spans[0];
    EXPECT_EQ(server["traceId"], "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(server["parentSpanId"], "b7ad6b7169203331");
    EXPECT_EQ(server["kind"], 2);
    EXPECT_EQ(server["name"], "POST chat");
    EXPECT_EQ(server["status"], (nlohmann::json{{"code", 0}}));
    EXPECT_GT(std::stoull(server["endTimeUnixNano"].get<std::string>()),
              std::stoull(server["startTimeUnixNano"].get<std::string>()));
    const auto& client = spans[1];
    EXPECT_EQ(client["kind"], 3);
    EXPECT_EQ(client["name"], "chat llama");
    EXPECT_EQ(client["parentSpanId"], server["spanId"]);
    EXPECT_EQ(client["spanId"].get<std::string>().size(), 16u);
    EXPECT_EQ(std::string(traceparent.data(), traceparent.size()),
              "00-0af7651916cd43dd8448eb211c80319c-" + client["spanId"].get<std::string>() + "-01");
    EXPECT_EQ(client["status"], (nlohmann::json{{"code", 2}}));
    EXPECT_EQ(client["events"][0], (nlohmann::json{{"timeUnixNano", "42"},
                                                   {"name", "llmgw.first_token"},
                                                   {"attributes", nlohmann::json::array()}}));
    EXPECT_EQ(attribute(client, "server.address"), (nlohmann::json{{"stringValue", "127.0.0.1"}}));
    EXPECT_EQ(attribute(client, "server.port"), (nlohmann::json{{"intValue", "8000"}}));
    EXPECT_EQ(attribute(client, "gen_ai.request.max_tokens"), (nlohmann::json{{"intValue", "64"}}));
    EXPECT_EQ(attribute(client, "gen_ai.request.stream"), (nlohmann::json{{"boolValue", true}}));
    EXPECT_EQ(attribute(client, "gen_ai.provider.name"), (nlohmann::json{{"stringValue", "openai"}}));
    EXPECT_EQ(attribute(client, "gen_ai.response.finish_reasons"),
              (nlohmann::json{{"arrayValue",
                               {{"values", {{{"stringValue", "stop"}}, {{"stringValue", "length"}}}}}}}));
}

TEST(OtlpProto, ARootSpanHasNoParentSpanId) {
    RequestTrace trace(std::nullopt, "ignored without a parent");
    EXPECT_TRUE(trace.tracestate().empty());
    EXPECT_FALSE(first_span(decode(trace.take())).contains("parentSpanId"));
}

// An int64 is its two's complement as a varint: one byte to 127, ten when negative.
TEST(OtlpProto, WritesIntegersAsVarintsAtEveryLengthEdge) {
    const std::int64_t values[] = {0,       1,        127,         128,
                                   16'383,  16'384,   2'097'151,   2'097'152,
                                   -1,      -128,     std::numeric_limits<std::int64_t>::max(),
                                   std::numeric_limits<std::int64_t>::min()};
    for (const auto value : values) {
        auto span = small_span();
        span.attributes.clear();
        span.set("k", value);
        EXPECT_EQ(attribute(first_span(decode({span})), "k"),
                  (nlohmann::json{{"intValue", std::to_string(value)}}))
            << value;
    }
    auto span = small_span();
    span.attributes.clear();
    span.set("k", std::int64_t{-1});
    EXPECT_NE(encode_otlp({span}, "gw", "1").find("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
              std::string::npos);
    span.attributes.clear();
    span.set("k", std::int64_t{300});
    EXPECT_NE(encode_otlp({span}, "gw", "1").find("\x18\xac\x02"), std::string::npos);
}

TEST(OtlpProto, WritesDoublesBoolsAndTimesAsTheirBits) {
    auto span = small_span();
    span.attributes.clear();
    span.set("d", 0.1);
    span.set("no", false);
    span.set("yes", true);
    for (const TimeNs time : {TimeNs{0}, TimeNs{1'764'912'345'678'901'234ULL},
                              std::numeric_limits<TimeNs>::max()}) {
        span.start = span.end = time;
        const auto decoded = first_span(decode({span}));
        EXPECT_EQ(decoded["startTimeUnixNano"], std::to_string(time));
        EXPECT_EQ(decoded["endTimeUnixNano"], std::to_string(time));
        EXPECT_EQ(attribute(decoded, "d"), (nlohmann::json{{"doubleValue", 0.1}}));
        EXPECT_EQ(attribute(decoded, "no"), (nlohmann::json{{"boolValue", false}}));
        EXPECT_EQ(attribute(decoded, "yes"), (nlohmann::json{{"boolValue", true}}));
    }
}

// A span's length has a two-byte slot, an event's and a status's one byte: a body longer
// or shorter than its slot moves, and reads back whole.
TEST(OtlpProto, NestedLengthsLongerAndShorterThanTheirSlots) {
    for (const std::size_t size : {0, 1, 100, 127, 128, 16'300, 16'383, 16'384, 40'000}) {
        auto span = small_span();
        span.name = std::string(size, 'n');
        span.status = StatusCode::error;
        span.status_message = std::string(size, 'm');
        span.events.push_back({"e", 7, {}});
        span.events.back().attributes.push_back({"long", std::string(size, 'v')});
        span.set("after", std::string("the end"));
        const auto decoded = first_span(decode({span}));
        EXPECT_EQ(decoded["name"].get<std::string>(), span.name) << size;
        EXPECT_EQ(decoded["status"].value("message", std::string()).size(), size);
        EXPECT_EQ(decoded["status"]["code"], 2);
        EXPECT_EQ(decoded["events"][0]["attributes"][0]["value"]["stringValue"]
                      .get<std::string>()
                      .size(),
                  size);
        EXPECT_EQ(attribute(decoded, "after"), (nlohmann::json{{"stringValue", "the end"}}));
    }
}

// Protobuf strings are bytes with no escapes; only bytes that are not UTF-8 are replaced
// (by U+FFFD, one per byte), since a strict decoder refuses the whole request for them.
TEST(OtlpProto, PassesStringsThroughAsBytesAndRepairsWhatIsNotUtf8) {
    const std::pair<std::string, std::string> cases[] = {
        {"a\"b\\c\x01\n\t\x7f", "a\"b\\c\x01\n\t\x7f"},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82"},
        {"d\xe9", "d\xef\xbf\xbd"},                                          // Latin-1
        {"\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},                            // overlong
        {"\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"},          // a surrogate
        {"long ascii prefix \xe6\x97", "long ascii prefix \xef\xbf\xbd\xef\xbf\xbd"},  // cut
        {std::string("nul\0in", 6), std::string("nul\0in", 6)},
    };
    for (const auto& [text, expected] : cases) {
        auto span = small_span();
        span.name = text;
        span.set("gen_ai.response.model", text);
        span.set("view", std::string_view(text));
        span.set("list", std::vector<std::string>{text});
        const auto encoded = encode_otlp({span}, "gw", "1");
        EXPECT_NE(encoded.find(expected), std::string::npos);
        const auto decoded = first_span(decode_otlp_traces(encoded));
        EXPECT_EQ(decoded["name"].get<std::string>(), expected);
        EXPECT_EQ(attribute(decoded, "gen_ai.response.model")["stringValue"].get<std::string>(),
                  expected);
        EXPECT_EQ(attribute(decoded, "view")["stringValue"].get<std::string>(), expected);
        EXPECT_EQ(attribute(decoded, "list")["arrayValue"]["values"][0]["stringValue"]
                      .get<std::string>(),
                  expected);
    }
}

// Strings are checked for non-ASCII bytes eight (or four) at a time: a lone invalid byte is
// found wherever it stands, in strings of every length.
TEST(OtlpProto, FindsABytePastAsciiAtEveryPositionOfEveryLength) {
    for (std::size_t size = 1; size <= 20; ++size) {
        for (std::size_t at = 0; at < size; ++at) {
            std::string name(size, 'a');
            name[at] = '\xff';
            auto span = small_span();
            span.name = name;
            auto expected = name;
            expected.replace(at, 1, "\xef\xbf\xbd");
            EXPECT_EQ(first_span(decode({span}))["name"].get<std::string>(), expected)
                << size << " " << at;
        }
    }
}

// Keys and values are copied by overlapping loads for each range of lengths: every length
// reads back byte for byte (distinct bytes, so that a misplaced piece shows).
TEST(OtlpProto, CopiesKeysAndValuesOfEveryLengthExactly) {
    std::vector<std::string> keys;
    for (std::size_t size = 1; size <= 70; ++size) {
        std::string key(size, ' ');
        for (std::size_t i = 0; i < size; ++i)
            key[i] = static_cast<char>('!' + (i * 7 + size) % 90);
        keys.push_back(std::move(key));
    }
    for (const auto& key : keys) {
        auto span = small_span();
        span.attributes.clear();
        std::string value(key.rbegin(), key.rend());
        span.set(key, value);
        span.set("view", std::string_view(key));
        const auto decoded = first_span(decode({span}));
        ASSERT_EQ(decoded["attributes"].size(), 2u) << key.size();
        EXPECT_EQ(decoded["attributes"][0]["key"], key);
        EXPECT_EQ(decoded["attributes"][0]["value"]["stringValue"], value);
        EXPECT_EQ(decoded["attributes"][1]["value"]["stringValue"], key);
    }
}

// A list of strings given as a span (the trace's finish reasons) is written as the same bytes
// as one given as a vector.
TEST(OtlpProto, AListAsASpanIsEncodedAsAVector) {
    const std::vector<std::string> list{"stop", "length", std::string(40, 'x')};
    auto vector = small_span();
    vector.set("gen_ai.response.finish_reasons", list);
    auto span = small_span();
    span.set("gen_ai.response.finish_reasons", std::span<const std::string>(list));
    EXPECT_EQ(encode_otlp({span}, "gw", "1"), encode_otlp({vector}, "gw", "1"));
}

// A list's lengths are computed before it is written (all ASCII) or filled in after (some
// item repaired): both read back whole at every size of varint.
TEST(OtlpProto, ListsOfEverySizeReadBackWhole) {
    for (const std::size_t size : {0, 1, 60, 127, 128, 16'300, 16'383, 16'384, 40'000}) {
        for (const bool ascii : {true, false}) {
            std::vector<std::string> list{"stop", std::string(size, 'x'), "length"};
            if (!ascii) list[1] += "\xff";
            auto span = small_span();
            span.set("list", list);
            span.set("after", "the end");
            const auto decoded = first_span(decode({span}));
            const auto list_value = attribute(decoded, "list");
            const auto& values = list_value["arrayValue"]["values"];
            ASSERT_EQ(values.size(), 3u) << size;
            EXPECT_EQ(values[0]["stringValue"], "stop");
            EXPECT_EQ(values[1]["stringValue"].get<std::string>(),
                      std::string(size, 'x') + (ascii ? "" : "\xef\xbf\xbd"));
            EXPECT_EQ(values[2]["stringValue"], "length");
            EXPECT_EQ(attribute(decoded, "after"), (nlohmann::json{{"stringValue", "the end"}}));
        }
    }
}

// A literal key's KeyValue is written inline (its lengths one byte each); a key known at run
// time goes through the encoder: the same bytes for every value, short, long, not ASCII.
TEST(OtlpProto, ALiteralKeyWritesWhatARunTimeKeyWrites) {
    const std::string_view key = "gen_ai.response.model";
    for (const std::size_t size : {0, 1, 7, 8, 16, 17, 32, 33, 99, 100, 101, 127, 128, 300}) {
        for (const bool ascii : {true, false}) {
            auto value = std::string(size, 'v');
            if (!ascii) value += "\xc3\xa9\xff";
            Span literal, run_time;
            literal.set("gen_ai.response.model", value);
            run_time.set(key, std::string_view(value));
            EXPECT_EQ(literal.attributes.bytes(), run_time.attributes.bytes()) << size << ascii;
        }
    }
    for (const std::int64_t number : {std::int64_t{0}, std::int64_t{127}, std::int64_t{128},
                                      std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()}) {
        Span literal, run_time;
        literal.set("gen_ai.response.model", number);
        run_time.set(key, number);
        EXPECT_EQ(literal.attributes.bytes(), run_time.attributes.bytes()) << number;
    }
    for (const bool flag : {true, false}) {
        Span literal, run_time;
        literal.set("gen_ai.response.model", flag);
        run_time.set(key, flag);
        EXPECT_EQ(literal.attributes.bytes(), run_time.attributes.bytes()) << flag;
    }
}

// A span's attributes are encoded when set: a value may go at once (the span keeps no
// reference to it), and each reads back, as set, in the export and from the span.
TEST(OtlpProto, AnAttributeIsEncodedWhenSet) {
    auto span = small_span();
    span.attributes.clear();
    {
        std::string text(40, 's');
        std::vector<std::string> list{"stop", std::string(30, 'l')};
        span.set("text", text);
        span.set("list", list);
        text.assign(40, 'X');
        list[0] = "gone";
    }
    span.set("int", std::int64_t{-5});
    span.set("double", 2.5);
    span.set("bool", true);
    const auto decoded = first_span(decode({span}));
    EXPECT_EQ(attribute(decoded, "text"), (nlohmann::json{{"stringValue", std::string(40, 's')}}));
    EXPECT_EQ(attribute(decoded, "list")["arrayValue"]["values"][0]["stringValue"], "stop");
    EXPECT_EQ(attribute(decoded, "int"), (nlohmann::json{{"intValue", "-5"}}));
    EXPECT_EQ(std::get<std::string_view>(*span.find("text")), std::string(40, 's'));
    EXPECT_EQ(std::get<std::vector<std::string>>(*span.find("list")),
              (std::vector<std::string>{"stop", std::string(30, 'l')}));
    EXPECT_EQ(std::get<std::int64_t>(*span.find("int")), -5);
    EXPECT_EQ(std::get<double>(*span.find("double")), 2.5);
    EXPECT_EQ(std::get<bool>(*span.find("bool")), true);
    EXPECT_FALSE(span.find("absent"));
    span.reset();
    EXPECT_TRUE(span.attributes.empty());
    EXPECT_FALSE(span.find("text"));
}

// A batch filled span by span past a reserve too small, its outer lengths then three bytes.
TEST(OtlpProto, ABatchOfManySpansReadsBackWhole) {
    SpanBatch batch("gw", "1", 100);
    for (int i = 0; i < 500; ++i) {
        auto span = small_span();
        span.name = "span " + std::to_string(i);
        batch.append(span);
    }
    EXPECT_EQ(batch.spans(), 500u);
    const auto body = batch.finish();
    EXPECT_EQ(batch.finish(), body);  // finishing again changes nothing
    const auto decoded = decode_otlp_traces(body);
    ASSERT_EQ(decoded["resourceSpans"].size(), 1u);
    const auto& spans = decoded["resourceSpans"][0]["scopeSpans"][0]["spans"];
    ASSERT_EQ(spans.size(), 500u);
    EXPECT_EQ(spans[499]["name"], "span 499");
    EXPECT_EQ(decoded["resourceSpans"][0]["resource"]["attributes"].size(), 4u);
}

}  // namespace
}  // namespace llmgw::tracing
