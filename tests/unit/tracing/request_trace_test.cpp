// A request's trace used again from its thread's pool: the same object, started clean, with
// new ids; and what it exports is what a new trace would export.
#include "llmgw/tracing/request_trace.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <thread>

#include "llmgw/tracing/otlp_proto.hpp"
#include "llmgw/tracing/trace_step.hpp"
#include "support/otlp_decode.hpp"

namespace llmgw::tracing {
namespace {

// A trace with everything a request may put in it: spans, attributes, an event, a status,
// what the answer said, a tracestate.
void fill(RequestTrace& trace) {
    trace.genai = {"chat", "a-model-with-a-long-name", 64, true};
    const auto admission =
        trace.add("llmgw.admission", SpanKind::internal, RequestTrace::server_span, 1, 2);
    trace.span(admission).set("llmgw.rate_limit", "admitted");
    trace.add("redis", SpanKind::client, admission, 1, 2);
    std::array<char, traceparent_length> traceparent;
    const auto attempt = trace.start_attempt("127.0.0.1", 8000, 0, traceparent);
    TraceStep step(trace);
    step.on_body(R"({"model":"served","choices":[{"finish_reason":"stop"}]})", true);
    step.on_end(http::AnswerEnd::complete);
    trace.span(attempt).status = StatusCode::error;
    trace.span(attempt).status_message = "a message";
    trace.span(RequestTrace::server_span).name = "POST a-route-with-a-long-name";
    trace.span(RequestTrace::server_span).set("http.response.status_code", std::int64_t{200});
    trace.end(attempt);
    trace.end(RequestTrace::server_span);
}

TEST(TracePool, GivesASpentTraceBackStartedClean) {
    std::thread([] {  // a thread of its own: its pool is empty at first
        const auto parent =
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        auto first = make_trace(parent, "congo=t61rcWkgMzE");
        fill(*first);
        EXPECT_EQ(first->size(), 4u);
        const auto* address = first.get();
        const auto first_id = first->span(RequestTrace::server_span).span_id;
        first.reset();  // back to the pool

        const auto second = make_trace(std::nullopt, "ignored=without-a-parent");
        EXPECT_EQ(second.get(), address);
        EXPECT_EQ(second->kept(), 4u);  // its span objects, with their buffers, to use again
        EXPECT_EQ(second->size(), 1u);
        EXPECT_EQ(second->last_attempt(), RequestTrace::none);
        EXPECT_TRUE(second->tracestate().empty());
        EXPECT_TRUE(second->genai.operation.empty());
        EXPECT_TRUE(second->genai.model.empty());
        EXPECT_FALSE(second->genai.max_tokens);
        EXPECT_FALSE(second->genai.stream);
        EXPECT_TRUE(second->response_model.empty());
        EXPECT_TRUE(second->finish_reasons.empty());
        const auto& server = second->span(RequestTrace::server_span);
        EXPECT_NE(server.trace_id, parent->trace_id);
        EXPECT_NE(server.span_id, first_id);
        EXPECT_EQ(server.parent_span_id, SpanId{});
        EXPECT_TRUE(server.name.empty());
        EXPECT_TRUE(server.attributes.empty());
        EXPECT_TRUE(server.events.empty());
        EXPECT_EQ(server.end, 0u);
        EXPECT_EQ(server.status, StatusCode::unset);
        EXPECT_EQ(server.kind, SpanKind::server);
    })
        .join();
}

// The spans of a trace used again encode as those of a new trace filled the same way (ids
// and times aside, which the test sets alike).
TEST(TracePool, ATraceUsedAgainExportsWhatANewOneWould) {
    std::thread([] {
        const auto encode = [](RequestTrace& trace) {
            for (std::size_t i = 0; i < trace.size(); ++i) {
                auto& span = trace.span(i);
                span.trace_id = TraceId{1};
                span.span_id = SpanId{static_cast<std::uint8_t>(i + 1)};
                if (i > 0) span.parent_span_id = SpanId{1};
                span.start = 10;
                span.end = 20;
                for (auto& event : span.events) event.time = 15;
                // The time to the first chunk, as encoded: its key, then the AnyValue's key
                // and length and double_value's key, then its eight bytes.
                constexpr std::string_view ttfc = "gen_ai.response.time_to_first_chunk";
                if (const auto at = span.attributes.bytes().find(ttfc); at != std::string::npos) {
                    const auto bits = std::bit_cast<std::uint64_t>(0.5);
                    std::memcpy(span.attributes.at(at + ttfc.size() + 3), &bits, 8);
                }
            }
            SpanBatch batch("gw", "1");
            for (const auto& span : trace.spans()) batch.append(span);
            return std::string(batch.finish());
        };
        auto used = make_trace(std::nullopt, "");
        fill(*used);
        used.reset();
        used = make_trace(std::nullopt, "");
        fill(*used);
        RequestTrace fresh(std::nullopt, "");
        fill(fresh);
        const auto expected = encode(fresh);
        EXPECT_EQ(encode(*used), expected);
        EXPECT_EQ(
            testing::decode_otlp_traces(expected)["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .size(),
            4u);
    }).join();
}

}  // namespace
}  // namespace llmgw::tracing
