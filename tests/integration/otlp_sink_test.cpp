// llmgw-otlp-sink, the benchmarks' OTLP/HTTP sink: it is a measuring instrument (bench/run.sh's
// check line quotes its counts), so its span count is checked against export requests of known
// sizes, and its 400 against bodies a collector would refuse.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "llmgw/tracing/otlp_proto.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace llmgw::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

class OtlpSink {
public:
    OtlpSink() : process_(Process::start(OTLP_SINK_BINARY, {"0"})) {
        if (!process_.wait_for_output("listening on", 10s))
            throw std::runtime_error("the sink did not start: " + process_.stderr_text());
        const auto out = process_.stdout_text();
        port_ = static_cast<std::uint16_t>(std::stoi(out.substr(out.rfind(':') + 1)));
    }
    std::uint16_t port() const { return port_; }
    nlohmann::json stats() const { return http_request(port_, {"GET", "/stats"}).json(); }

private:
    Process process_;
    std::uint16_t port_ = 0;
};

HttpRequest post(std::string body, std::string type = "application/x-protobuf") {
    return {.method = "POST",
            .target = "/v1/traces",
            .headers = {{"content-type", std::move(type)}},
            .body = std::move(body)};
}

std::string spans_body(std::size_t n) {
    std::vector<tracing::Span> spans(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& span = spans[i];
        span.trace_id[0] = 1;
        span.span_id[0] = static_cast<std::uint8_t>(i + 1);
        span.name = "chat model-" + std::to_string(i);
        span.kind = tracing::SpanKind::client;
        span.start = 1;
        span.end = 2;
        span.set("server.port", std::int64_t{8000});
        span.set("gen_ai.request.model", std::string("model"));
        span.events.push_back({"llmgw.first_token", 2, {}});
    }
    return tracing::encode_otlp(spans, "llmgw", "test");
}

// A field's key and length (both below 128 here) in front of its body.
std::string field(char key, const std::string& body) {
    return std::string(1, key) + char(body.size()) + body;
}

TEST(OtlpSink, CountsTheSpansOfEachRequestOnOneKeepAliveConnection) {
    OtlpSink sink;
    HttpConnection connection(sink.port());
    std::size_t expected = 0;
    for (const std::size_t n : {1u, 0u, 3u, 250u, 2u}) {  // 250 spans: a body of many reads
        const auto response = connection.send(post(spans_body(n)));
        ASSERT_EQ(response.status, 200);
        EXPECT_EQ(response.body, "{}");
        expected += n;
    }
    const auto stats = sink.stats();
    EXPECT_EQ(stats["requests"], 5);
    EXPECT_EQ(stats["spans"], expected);
    EXPECT_EQ(stats["malformed"], 0);
}

TEST(OtlpSink, CountsSpansInEveryResourceAndScopeAndNothingElse) {
    OtlpSink sink;
    const auto span = "\x0a\x02xy"s;  // a span's body is never read
    // ScopeSpans: scope 1 (not a span), spans 2, schema_url 3; a varint field stepped over.
    const auto scope_a = field('\x0a', "\x0a\x01s"s) + field('\x12', span) + field('\x12', span) +
                         field('\x1a', "url") + "\x20\x05"s;
    const auto scope_b = field('\x12', span);
    // ResourceSpans: resource 1, scope_spans 2 (twice); a fixed64 field stepped over.
    const auto resource_spans_a = field('\x0a', "\x0a\x00"s) + field('\x12', scope_a) +
                                  field('\x12', scope_b) + "\x19" + std::string(8, '\x01');
    const auto resource_spans_b = field('\x12', scope_b);
    const auto body = field('\x0a', resource_spans_a) + field('\x0a', resource_spans_b) +
                      field('\x12', field('\x12', span));  // not resource_spans: not counted
    ASSERT_EQ(http_request(sink.port(), post(body)).status, 200);
    EXPECT_EQ(sink.stats()["spans"], 4);
}

TEST(OtlpSink, AnswersMalformedBodies400AndCountsThem) {
    OtlpSink sink;
    HttpConnection connection(sink.port());
    const auto good = spans_body(2);
    const std::vector<HttpRequest> malformed = {
        post(good.substr(0, good.size() - 1)),             // a field past its message
        post("\x0a\xff"s),                                  // a truncated varint
        post("\x0a\x01\x0b"s),                              // wire type 3 inside ResourceSpans
        post("\x0a\x04\x12\x02\x13\x00"s),                  // wire type 3 inside ScopeSpans
        post("\x0b"s),                                      // wire type 3 at the top
        post("\x09\x01\x02"s),                              // a fixed64 cut short
        post(good, "application/json"),                     // not protobuf
    };
    for (const auto& request : malformed) {
        const auto response = connection.send(request);
        EXPECT_EQ(response.status, 400) << request.body.size();
    }
    EXPECT_EQ(connection.send(post(good)).status, 200);  // the connection still serves
    const auto stats = sink.stats();
    EXPECT_EQ(stats["requests"], malformed.size() + 1);
    EXPECT_EQ(stats["malformed"], malformed.size());
    EXPECT_EQ(stats["spans"], 2);
}

}  // namespace
}  // namespace llmgw::testing
