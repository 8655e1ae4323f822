// Writing spans in OTLP/HTTP's JSON encoding (opentelemetry-proto's JSON mapping, with the
// protocol's exceptions: hex ids, integer enums). Written straight into one string, in runs:
// the attribute keys are the conventions' literals and most values need no escaping, so
// each piece is one append rather than a character at a time (the encoder was the largest
// share of a traced request's cost).
#include "llmgw/tracing/otlp_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace llmgw::tracing {

namespace {

// The encoder's appends are many and short (a span is some fifty of them): each is a
// memcpy into room the batch already has, not a std::string::append with its checks.
class JsonOut {
public:
    explicit JsonOut(SpanBatch& batch) : batch_(batch) {}

    char* room(std::size_t n) { return batch_.room(n); }
    void advance(std::size_t n) { batch_.advance(n); }
    // A literal: its length is known here, so the copy is a few moves, not a call.
    template <std::size_t N>
    JsonOut& operator+=(const char (&literal)[N]) {
        std::memcpy(room(N - 1), literal, N - 1);
        advance(N - 1);
        return *this;
    }
    JsonOut& operator+=(std::string_view piece) {
        std::memcpy(room(piece.size()), piece.data(), piece.size());
        advance(piece.size());
        return *this;
    }
    JsonOut& operator+=(char c) {
        *room(1) = c;
        advance(1);
        return *this;
    }

private:
    SpanBatch& batch_;
};

// Quotes, backslashes, control characters and every non-ASCII byte.
bool needs_escape(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return static_cast<unsigned char>(byte - 0x20) >= 0x60 || c == '"' || c == '\\';
}

// One byte escaped: a quote or backslash after a backslash; anything else as \u00XX (a
// model name from an answer need not be valid UTF-8: this keeps the document valid JSON).
void append_escaped(char*& at, char c) {
    if (c == '"' || c == '\\') {
        *at++ = '\\';
        *at++ = c;
        return;
    }
    constexpr char digits[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    at = std::copy_n("\\u00", 4, at);
    *at++ = digits[byte >> 4];
    *at++ = digits[byte & 0xf];
}

// Whether any byte of `text` needs an escape, eight bytes at a time (a byte-by-byte test was
// the encoder's largest part).
bool any_needs_escape(std::string_view text) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    // A byte of `word` below n (n <= 0x80): the borrow sets its high bit; exact for "any".
    const auto below = [](std::uint64_t word, std::uint64_t n) {
        return (word - ones * n) & ~word & highs;
    };
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + i, 8);
        if ((word & highs) | below(word, 0x20) | below(word ^ (ones * '"'), 1) |
            below(word ^ (ones * '\\'), 1))
            return true;
    }
    for (; i < text.size(); ++i)
        if (needs_escape(text[i])) return true;
    return false;
}

// A JSON string, escaped where needed (above).
void append_string(JsonOut& out, std::string_view text) {
    // Most values need no escape: they are copied whole.
    if (!any_needs_escape(text)) {
        char* const at = out.room(text.size() + 2);
        at[0] = '"';
        std::memcpy(at + 1, text.data(), text.size());
        at[text.size() + 1] = '"';
        out.advance(text.size() + 2);
        return;
    }
    char* const begin = out.room(6 * text.size() + 2);  // the worst case: all escaped
    char* at = begin;
    *at++ = '"';
    for (const char c : text) {
        if (needs_escape(c))
            append_escaped(at, c);
        else
            *at++ = c;
    }
    *at++ = '"';
    out.advance(static_cast<std::size_t>(at - begin));
}

template <std::size_t N>
void append_hex(JsonOut& out, const std::array<std::uint8_t, N>& bytes) {
    char* const at = out.room(2 * N + 2);
    at[0] = '"';
    to_hex(bytes, at + 1);
    at[2 * N + 1] = '"';
    out.advance(2 * N + 2);
}

template <typename Integer>
void append_integer(JsonOut& out, Integer value) {
    char* const at = out.room(24);
    out.advance(static_cast<std::size_t>(std::to_chars(at, at + 24, value).ptr - at));
}

// int64 and uint64 are strings in the JSON mapping (JavaScript numbers lose precision).
template <typename Integer>
void append_quoted_integer(JsonOut& out, Integer value) {
    char* const at = out.room(26);
    at[0] = '"';
    char* end = std::to_chars(at + 1, at + 25, value).ptr;
    *end++ = '"';
    out.advance(static_cast<std::size_t>(end - at));
}

// A time in nanoseconds, quoted as int64s are. Every time from 2001 to 2286 has 19 digits:
// they are written two at a time from a table, without to_chars' length search and
// divisions (the times were a seventh of the encoder's work); other values go to to_chars.
void append_time(JsonOut& out, TimeNs ns) {
    constexpr TimeNs smallest = 1'000'000'000'000'000'000ULL;
    constexpr TimeNs largest = 9'999'999'999'999'999'999ULL;
    if (ns < smallest || ns > largest) return append_quoted_integer(out, ns);
    static constexpr char pairs[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char* const at = out.room(21);
    at[0] = '"';
    at[20] = '"';
    // Two 32-bit halves of nine and ten digits: 32-bit divisions are the cheaper ones.
    auto high = static_cast<std::uint32_t>(ns / 10'000'000'000ULL);  // 9 digits
    auto low = ns % 10'000'000'000ULL;                                // 10 digits
    auto low_high = static_cast<std::uint32_t>(low / 100'000);         // 5 digits
    auto low_low = static_cast<std::uint32_t>(low % 100'000);          // 5 digits
    const auto two = [&](std::uint32_t& value, int position) {
        std::memcpy(at + position, pairs + 2 * (value % 100), 2);
        value /= 100;
    };
    two(low_low, 18), two(low_low, 16), at[15] = static_cast<char>('0' + low_low);
    two(low_high, 13), two(low_high, 11), at[10] = static_cast<char>('0' + low_high);
    two(high, 8), two(high, 6), two(high, 4), two(high, 2), at[1] = static_cast<char>('0' + high);
    out.advance(21);
}

// The shortest text that reads back as the same double.
void append_double(JsonOut& out, double value) {
    char* const at = out.room(32);
    const auto finite = std::isfinite(value) ? value : 0.0;
    out.advance(static_cast<std::size_t>(std::to_chars(at, at + 32, finite).ptr - at));
}

void append_string_array(JsonOut& out, const std::vector<std::string>& list) {
    out += "\",\"value\":{\"arrayValue\":{\"values\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ',';
        out += "{\"stringValue\":";
        append_string(out, list[i]);
        out += '}';
    }
    out += "]}}}";
}

// What follows the key: the rest of the attribute, `","value":{...}}`. The variant's index
// picks the branch (one jump, not a chain of get_if).
void append_value(JsonOut& out, const AttributeValue& value) {
    switch (value.index()) {
        case 0:
            out += "\",\"value\":{\"stringValue\":";
            append_string(out, *std::get_if<0>(&value));
            out += "}}";
            return;
        case 1:
            out += "\",\"value\":{\"intValue\":";
            append_quoted_integer(out, *std::get_if<1>(&value));
            out += "}}";
            return;
        case 2:
            out += "\",\"value\":{\"doubleValue\":";
            append_double(out, *std::get_if<2>(&value));
            out += "}}";
            return;
        case 3:
            if (*std::get_if<3>(&value))
                out += "\",\"value\":{\"boolValue\":true}}";
            else
                out += "\",\"value\":{\"boolValue\":false}}";
            return;
        case 4:
            append_string_array(out, *std::get_if<4>(&value));
            return;
        default:
            out += "\",\"value\":{\"stringValue\":";
            append_string(out, *std::get_if<5>(&value));
            out += "}}";
    }
}

// The keys are the conventions' literals (plain ASCII, nothing to escape).
void append_attributes(JsonOut& out, const std::vector<Attribute>& list) {
    out += "\"attributes\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ',';
        out += "{\"key\":\"";
        out += list[i].key;
        append_value(out, list[i].value);
    }
    out += ']';
}

void append_events(JsonOut& out, const std::vector<SpanEvent>& events) {
    out += ",\"events\":[";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i > 0) out += ',';
        out += "{\"timeUnixNano\":";
        append_time(out, events[i].time);
        out += ",\"name\":";
        append_string(out, events[i].name);
        out += ',';
        append_attributes(out, events[i].attributes);
        out += '}';
    }
    out += ']';
}

void append_span(JsonOut& out, const Span& span) {
    out += "{\"traceId\":";
    append_hex(out, span.trace_id);
    out += ",\"spanId\":";
    append_hex(out, span.span_id);
    const bool root = std::all_of(span.parent_span_id.begin(), span.parent_span_id.end(),
                                  [](std::uint8_t b) { return b == 0; });
    if (!root) {
        out += ",\"parentSpanId\":";
        append_hex(out, span.parent_span_id);
    }
    out += ",\"name\":";
    append_string(out, span.name);
    out += ",\"kind\":";
    append_integer(out, static_cast<int>(span.kind));
    out += ",\"startTimeUnixNano\":";
    append_time(out, span.start);
    out += ",\"endTimeUnixNano\":";
    append_time(out, span.end);
    out += ',';
    append_attributes(out, span.attributes);
    if (!span.events.empty()) append_events(out, span.events);
    out += ",\"status\":{\"code\":";
    append_integer(out, static_cast<int>(span.status));
    if (!span.status_message.empty()) {
        out += ",\"message\":";
        append_string(out, span.status_message);
    }
    out += "}}";
}

}  // namespace

char* SpanBatch::grow(std::size_t n) {
    // A span is about a kilobyte of text; start with room for a few dozen.
    const auto capacity = std::max({2 * capacity_, size_ + n, std::size_t{32 * 1024}});
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
    return data_.get() + size_;
}

SpanBatch::SpanBatch(std::string_view service_name, std::string_view service_version,
                     std::size_t reserve) {
    if (reserve > 0) grow(reserve);
    JsonOut out(*this);
    out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",";
    out += "\"value\":{\"stringValue\":";
    append_string(out, service_name);
    out += "}},{\"key\":\"service.version\",\"value\":{\"stringValue\":";
    append_string(out, service_version);
    out += "}},{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"llmgw\"}},";
    out += "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"cpp\"}}]},";
    out += "\"scopeSpans\":[{\"scope\":{\"name\":\"llmgw\",\"version\":";
    append_string(out, service_version);
    out += "},\"spans\":[";
}

void SpanBatch::append(const Span& span) {
    JsonOut out(*this);
    if (spans_ > 0) out += ',';
    append_span(out, span);
    ++spans_;
}

std::string_view SpanBatch::finish() {
    if (!finished_) {
        JsonOut out(*this);
        out += "]}]}]}";
        finished_ = true;
    }
    return {data_.get(), size_};
}

std::string encode_otlp_json(const std::vector<Span>& spans, std::string_view service_name,
                             std::string_view service_version) {
    SpanBatch batch(service_name, service_version);
    for (const auto& span : spans) batch.append(span);
    return std::string(batch.finish());
}

}  // namespace llmgw::tracing
