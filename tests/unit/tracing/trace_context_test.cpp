// traceparent parsing and writing (W3C Trace Context), ids, and parent-based sampling.
#include "llmgw/tracing/trace_context.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmgw::tracing {
namespace {

constexpr std::string_view valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TraceParent, ReadsTheTraceIdParentIdAndSampledFlag) {
    const auto context = parse_traceparent(valid);
    ASSERT_TRUE(context);
    char hex[32];
    to_hex(context->trace_id, hex);
    EXPECT_EQ(std::string(hex, 32), "0af7651916cd43dd8448eb211c80319c");
    to_hex(context->parent_id, hex);
    EXPECT_EQ(std::string(hex, 16), "b7ad6b7169203331");
    EXPECT_TRUE(context->sampled);
    EXPECT_FALSE(
        parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")->sampled);
}

TEST(TraceParent, RefusesMalformedHeaders) {
    for (std::string_view bad : {
             "",
             "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",       // no flags
             "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",    // upper case
             "00-00000000000000000000000000000000-b7ad6b7169203331-01",    // zero trace id
             "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",    // zero parent id
             "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    // forbidden version
             "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  // v00 with more
             "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    // separator
             "00-0af7651916cd43dd8448eb211c8031zz-b7ad6b7169203331-01",    // not hex
         })
        EXPECT_FALSE(parse_traceparent(bad)) << bad;
}

TEST(TraceParent, ReadsTheKnownFieldsOfALaterVersion) {
    const auto context =
        parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future");
    ASSERT_TRUE(context);
    EXPECT_TRUE(context->sampled);
}

TEST(TraceParent, WritesWhatItReads) {
    const auto context = parse_traceparent(valid);
    std::array<char, traceparent_length> out;
    format_traceparent(context->trace_id, context->parent_id, true, out);
    EXPECT_EQ(std::string_view(out.data(), out.size()), valid);
}

TEST(TraceIds, AreRandomAndNeverZero) {
    const auto a = new_trace_id();
    const auto b = new_trace_id();
    EXPECT_NE(a, b);
    EXPECT_NE(a, TraceId{});
    EXPECT_NE(new_span_id(), SpanId{});
}

TEST(TraceState, PassesPrintableAndBoundedValuesOnly) {
    EXPECT_TRUE(acceptable_tracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
    EXPECT_FALSE(acceptable_tracestate(std::string(513, 'a')));
    EXPECT_FALSE(acceptable_tracestate("a=b\x01"));
}

TEST(Sampling, FollowsTheParentsDecisionWhateverTheRatio) {
    TraceContext parent;
    parent.sampled = true;
    EXPECT_TRUE(should_sample(parent, 0.0));
    parent.sampled = false;
    EXPECT_FALSE(should_sample(parent, 1.0));
}

TEST(Sampling, StartsTracesInTheRatio) {
    EXPECT_TRUE(should_sample(std::nullopt, 1.0));
    EXPECT_FALSE(should_sample(std::nullopt, 0.0));
    int sampled = 0;
    for (int i = 0; i < 10000; ++i) sampled += should_sample(std::nullopt, 0.1) ? 1 : 0;
    EXPECT_GT(sampled, 800);  // 1000 expected; 6 standard deviations either side
    EXPECT_LT(sampled, 1200);
}

}  // namespace
}  // namespace llmgw::tracing
