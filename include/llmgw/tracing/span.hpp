// One span as OTLP describes it: ids, name, kind, times, attributes, events, status. Plain
// data: the request's trace fills it in, the exporter encodes it.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
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

// The last two alternatives are a string and a list of strings the span does not own (a
// literal, a config or access record field, what the trace itself keeps): they must outlive
// the span's submit, where spans are encoded; copying such values cost more than encoding
// them.
using AttributeValue =
    std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>,
                 std::string_view, std::span<const std::string>>;

struct Attribute {
    Attribute() = default;
    Attribute(std::string_view key, AttributeValue value) : key(key), value(std::move(value)) {}
    // The value made in place, as alternative I.
    template <std::size_t I, typename T>
    Attribute(std::string_view key, std::in_place_index_t<I> index, T&& value)
        : key(key), value(index, std::forward<T>(value)) {}

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
        attributes.emplace_back(key, std::move(value));
    }
    // The scalars made in place (no variant made, moved and destroyed for each). An `int`
    // is ambiguous here on purpose: say which.
    void set(std::string_view key, std::int64_t value) {
        attributes.emplace_back(key, std::in_place_index<1>, value);
    }
    void set(std::string_view key, double value) {
        attributes.emplace_back(key, std::in_place_index<2>, value);
    }
    template <std::same_as<bool> Bool>  // never a pointer or a number taken for a bool
    void set(std::string_view key, Bool value) {
        attributes.emplace_back(key, std::in_place_index<3>, value);
    }
    // A string value not copied (see AttributeValue): `value` must outlive the submit.
    void set_view(std::string_view key, std::string_view value) {
        // Made as a view at once (an empty string made, destroyed and replaced cost as much
        // as encoding the attribute).
        attributes.emplace_back(key, std::in_place_index<5>, value);
    }
    // A list of strings not copied: `list` must outlive the submit.
    void set_view(std::string_view key, std::span<const std::string> list) {
        attributes.emplace_back(key, std::in_place_index<6>, list);
    }
    // Ready to be filled again as another span (its buffers kept).
    void reset() {
        name.clear();
        end = 0;
        attributes.clear();
        events.clear();
        status = StatusCode::unset;
        status_message.clear();
    }
    // The value of `key`, or null.
    const AttributeValue* find(std::string_view key) const;
};

}  // namespace llmgw::tracing
