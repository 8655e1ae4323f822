// One span as OTLP describes it: ids, name, kind, times, attributes, events, status. The
// request's trace fills it in, the exporter encodes it; its attributes are encoded as they
// are set.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
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

// An attribute of an event, kept as a value until the event is encoded. (A span's attributes
// are encoded as they are set: Span::attributes.)
using AttributeValue =
    std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>,
                 std::string_view, std::span<const std::string>>;

struct Attribute {
    Attribute() = default;
    Attribute(std::string_view key, AttributeValue value) : key(key), value(std::move(value)) {}

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

// A span's attributes written in OTLP's protobuf encoding as they are set: each a KeyValue
// framed as the Span's attributes field (9), so that encoding the span copies them in one
// piece. Nothing is kept by reference: a value may go once it is set. The buffer only grows
// and is used again by the next span (clear()).
class SpanAttributes {
public:
    bool empty() const { return used_ == 0; }
    void clear() { used_ = 0; }
    std::string_view bytes() const { return {bytes_.data(), used_}; }

    // For the encoder: room for `n` more bytes at the returned pointer; advance() by what was
    // written (the protocol of SpanBatch, so that one encoder writes into both).
    char* room(std::size_t n) {
        return used_ + n <= bytes_.size() ? bytes_.data() + used_ : grow(n);
    }
    void advance(std::size_t n) { used_ += n; }
    void advance_to(const char* end) { used_ = static_cast<std::size_t>(end - bytes_.data()); }
    std::size_t size() const { return used_; }
    char* at(std::size_t offset) { return bytes_.data() + offset; }
    void shrink(std::size_t n) { used_ -= n; }

private:
    char* grow(std::size_t n);

    std::string bytes_;  // its size is the capacity: zero-filled once, when it grows
    std::size_t used_ = 0;
};

struct Span {
    TraceId trace_id{};
    SpanId span_id{};
    SpanId parent_span_id{};  // all zero for a root span
    std::string name;
    SpanKind kind = SpanKind::internal;
    TimeNs start = 0;
    TimeNs end = 0;
    SpanAttributes attributes;
    std::vector<SpanEvent> events;
    StatusCode status = StatusCode::unset;
    std::string status_message;

    // Each attribute is encoded at once, in the order set (keys are literals of the
    // conventions). An `int` is ambiguous here on purpose: say which.
    void set(std::string_view key, std::string_view value);
    void set(std::string_view key, std::int64_t value);
    void set(std::string_view key, double value);
    template <std::same_as<bool> Bool>  // never a pointer or a number taken for a bool
    void set(std::string_view key, Bool value) {
        set_bool(key, value);
    }
    void set(std::string_view key, std::span<const std::string> list);
    void set(std::string_view key, const std::vector<std::string>& list) {
        set(key, std::span<const std::string>(list));
    }
    void set(std::string_view key, const std::string& value) { set(key, std::string_view(value)); }
    void set(std::string_view key, const char* value) { set(key, std::string_view(value)); }

    // Ready to be filled again as another span (its buffers kept).
    void reset() {
        name.clear();
        end = 0;
        attributes.clear();
        events.clear();
        status = StatusCode::unset;
        status_message.clear();
    }
    // The value of `key` read back from the encoding (the first one set), or nullopt: a
    // string as a view of the encoding, a list as a vector. For tests.
    std::optional<AttributeValue> find(std::string_view key) const;

private:
    void set_bool(std::string_view key, bool value);
};

}  // namespace llmgw::tracing
