// One span as OTLP describes it: ids, name, kind, times, attributes, events, status. The
// request's trace fills it in, the exporter encodes it; its attributes are encoded as they
// are set.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "llmgw/tracing/proto_bytes.hpp"
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

    // Each attribute is encoded at once, in the order set. An `int` is ambiguous here on
    // purpose: say which.
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

    // The same for a key that is a literal (the conventions' keys, and so every attribute
    // the gateway sets): its bytes and length are known when compiled, and the KeyValue of a
    // short string or a number is written here, inline (a call, a key copied by its length
    // and lengths sized at run time were most of a span's encoding).
    template <std::size_t N>
    [[gnu::always_inline]] void set(const char (&key)[N], std::string_view value) {
        constexpr auto key_size = N - 1;
        static_assert(key_size < 64, "a short key");
        // KeyValue and AnyValue each under 128 bytes: every length is one byte.
        if (value.size() > 121 - key_size || !proto::is_ascii(value)) [[unlikely]]
            return set(std::string_view(key, key_size), value);
        char* at = literal_key_head<key_size>(key, 2 + value.size());
        at[0] = proto::key(1, proto::delimited);  // AnyValue.string_value
        at[1] = static_cast<char>(value.size());
        proto::copy(at + 2, value.data(), value.size());
        attributes.advance_to(at + 2 + value.size());
    }
    template <std::size_t N>
    [[gnu::always_inline]] void set(const char (&key)[N], std::int64_t value) {
        const auto number = static_cast<std::uint64_t>(value);  // negative: ten bytes
        char* at = literal_key_head<N - 1>(key, 1 + proto::varint_size(number));
        at[0] = proto::key(3, proto::varint);  // AnyValue.int_value
        attributes.advance_to(proto::put_varint(at + 1, number));
    }
    template <std::size_t N, std::same_as<bool> Bool>
    void set(const char (&key)[N], Bool value) {
        char* at = literal_key_head<N - 1>(key, 2);
        at[0] = proto::key(2, proto::varint);  // AnyValue.bool_value
        at[1] = static_cast<char>(value ? 1 : 0);
        attributes.advance_to(at + 2);
    }
    template <std::size_t N>
    void set(const char (&key)[N], double value) {
        set(std::string_view(key, N - 1), value);
    }
    template <std::size_t N>
    void set(const char (&key)[N], std::span<const std::string> list) {
        set(std::string_view(key, N - 1), list);
    }
    template <std::size_t N>
    void set(const char (&key)[N], const std::vector<std::string>& list) {
        set(std::string_view(key, N - 1), std::span<const std::string>(list));
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
    // The value of `key` read back from the encoding (the first one set), or nullopt: a
    // string as a view of the encoding, a list as a vector. For tests.
    std::optional<AttributeValue> find(std::string_view key) const;

private:
    void set_bool(std::string_view key, bool value);
    // Room for a KeyValue of a literal key (of `key_size` bytes) whose AnyValue's body takes
    // `value_size` bytes (the two under 128 together); its head written up to that body.
    template <std::size_t key_size>
    char* literal_key_head(const char* key, std::size_t value_size) {
        char* at = attributes.room(6 + key_size + value_size);
        at[0] = proto::key(9, proto::delimited);  // Span.attributes
        at[1] = static_cast<char>(4 + key_size + value_size);
        at[2] = proto::key(1, proto::delimited);  // KeyValue.key
        at[3] = static_cast<char>(key_size);
        std::memcpy(at + 4, key, key_size);
        at[4 + key_size] = proto::key(2, proto::delimited);  // KeyValue.value
        at[5 + key_size] = static_cast<char>(value_size);
        return at + 6 + key_size;
    }
};

}  // namespace llmgw::tracing
