// One span as OTLP describes it: ids, name, kind, times, attributes, events, status. Plain
// data: the request's trace fills it in, the exporter encodes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "llmgw/tracing/trace_context.hpp"

namespace llmgw::tracing {

// OTLP's Span.SpanKind values (the protobuf encoding writes these enum numbers).
enum class SpanKind : int { internal = 1, server = 2, client = 3 };
// OTLP's Status.StatusCode values.
enum class StatusCode : int { unset = 0, ok = 1, error = 2 };

// The last alternative is a string the span does not own (a literal, a config or access
// record field, the trace's own request attributes): it must outlive the span's submit, where
// spans are encoded; copying such values cost more than encoding them.
using AttributeValue = std::variant<std::string, std::int64_t, double, bool,
                                    std::vector<std::string>, std::string_view>;

struct Attribute {
    std::string_view key;  // always a string literal of the conventions: never allocated
    AttributeValue value;
};

using TimeNs = std::uint64_t;  // nanoseconds since the Unix epoch
TimeNs now_ns();

struct SpanEvent {
    std::string_view name;  // a literal, like attribute keys
    TimeNs time = 0;
    std::vector<Attribute> attributes;
};

struct Span {
    TraceId trace_id{};
    SpanId span_id{};
    SpanId parent_span_id{};  // all zero for a root span
    std::string name;
    SpanKind kind = SpanKind::internal;
    TimeNs start = 0;
    TimeNs end = 0;
    std::vector<Attribute> attributes;
    std::vector<SpanEvent> events;
    StatusCode status = StatusCode::unset;
    std::string status_message;

    // `key` must outlive the span (a literal).
    void set(std::string_view key, AttributeValue value) {
        attributes.push_back({key, std::move(value)});
    }
    // A string value not copied (see AttributeValue): `value` must outlive the submit.
    void set_view(std::string_view key, std::string_view value) {
        auto& attribute = attributes.emplace_back();
        attribute.key = key;
        attribute.value.emplace<5>(value);
    }
    // The value of `key`, or null.
    const AttributeValue* find(std::string_view key) const;
};

}  // namespace llmgw::tracing
