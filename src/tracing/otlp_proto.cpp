// Writing spans in OTLP/HTTP's protobuf encoding (opentelemetry-proto's trace, common and
// resource messages). Scalars are varints or little-endian fixed64s; a nested message is its
// length then its bytes. Small messages (an attribute and its value) have their lengths
// computed first and are written in one piece; a span or event is written after a slot left
// for its length, filled in (and the body moved when the length needs another size of
// varint) once the body is done.
#include "llmgw/tracing/otlp_proto.hpp"

#include "llmgw/tracing/proto_bytes.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace llmgw::tracing {

namespace {

using namespace proto;

// The length of the valid UTF-8 sequence at `p` (of `left` bytes), or 0.
std::size_t utf8_sequence(const unsigned char* p, std::size_t left) {
    const auto c = p[0];
    const auto follows = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xbf) {
        return i < left && p[i] >= low && p[i] <= high;
    };
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return follows(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        const unsigned char low = c == 0xe0 ? 0xa0 : 0x80, high = c == 0xed ? 0x9f : 0xbf;
        return follows(1, low, high) && follows(2) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        const unsigned char low = c == 0xf0 ? 0x90 : 0x80, high = c == 0xf4 ? 0x8f : 0xbf;
        return follows(1, low, high) && follows(2) && follows(3) ? 4 : 0;
    }
    return 0;
}

// `text` when it is valid UTF-8; else a copy in `repaired` with U+FFFD for each byte that is
// not part of a valid sequence.
[[gnu::noinline]] std::string_view utf8_of(std::string_view text, std::string& repaired) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t valid = 0;
    while (valid < text.size()) {
        const auto length = utf8_sequence(bytes + valid, text.size() - valid);
        if (length == 0) break;
        valid += length;
    }
    if (valid == text.size()) return text;
    repaired.assign(text.substr(0, valid));
    while (valid < text.size()) {
        const auto length = utf8_sequence(bytes + valid, text.size() - valid);
        if (length == 0) {
            repaired += "\xef\xbf\xbd";
            ++valid;
        } else {
            repaired.append(text.substr(valid, length));
            valid += length;
        }
    }
    return repaired;
}

// `text` as a protobuf string may hold it: valid UTF-8 as it is; what is not (a model name
// from an answer need not be UTF-8, and a strict decoder, Go's, would refuse the whole export
// for it) repaired into `repaired`.
[[gnu::always_inline]] inline std::string_view as_utf8(std::string_view text,
                                                       std::string& repaired) {
    return is_ascii(text) ? text : utf8_of(text, repaired);
}

// Writes into a batch's buffer or a span's attributes; offsets, not pointers, across calls
// (the buffer may grow).
template <typename Buffer>
class ProtoOut {
public:
    explicit ProtoOut(Buffer& batch) : batch_(batch) {}

    char* room(std::size_t n) { return batch_.room(n); }
    void done(const char* end) {
        batch_.advance(static_cast<std::size_t>(end - batch_.at(batch_.size())));
    }

    // A string field (empty ones are proto3's default: not written).
    void string(char field_key, std::string_view text) {
        if (text.empty()) return;
        const auto checked = as_utf8(text, scratch_);
        done(put_bytes(room(11 + checked.size()), field_key, checked));
    }

    // A nested message whose length is not known yet: its key, then `slot` bytes for the
    // length. Returns where its body starts, for close().
    std::size_t open(char field_key, std::size_t slot) {
        char* at = room(1 + slot);
        *at = field_key;
        batch_.advance(1 + slot);
        return batch_.size();
    }
    void close(std::size_t body, std::size_t slot) {
        const auto length = batch_.size() - body;
        const auto needed = varint_size(length);
        if (needed > slot) {
            room(needed - slot);
            batch_.advance(needed - slot);
        } else {
            batch_.shrink(slot - needed);
        }
        if (needed != slot) std::memmove(batch_.at(body - slot + needed), batch_.at(body), length);
        put_varint(batch_.at(body - slot), length);
    }

    std::string& scratch() { return scratch_; }

private:
    Buffer& batch_;
    std::string scratch_;  // a string repaired to UTF-8 (rare)
};

// A KeyValue's head: its key in `list_key`, its length, its key, the AnyValue's key and
// length; the AnyValue's body (`value_size` bytes) follows.
[[gnu::always_inline]] inline char* key_value_head(char* at, char list_key, std::string_view name,
                            std::size_t value_size) {
    // Nearly always the whole KeyValue is under 128 bytes: each of its lengths is then one
    // byte, written as it is (no varint sized or looped over).
    if (const auto short_size = 2 + name.size() + 2 + value_size; short_size < 0x80) [[likely]] {
        at[0] = list_key;
        at[1] = static_cast<char>(short_size);
        at[2] = key(1, delimited);
        at[3] = static_cast<char>(name.size());
        copy(at + 4, name.data(), name.size());
        at += 4 + name.size();
        at[0] = key(2, delimited);
        at[1] = static_cast<char>(value_size);
        return at + 2;
    }
    const auto kv_size = 1 + varint_size(name.size()) + name.size() + 1 +
                         varint_size(value_size) + value_size;
    *at++ = list_key;
    at = put_varint(at, kv_size);
    at = put_bytes(at, key(1, delimited), name);
    *at++ = key(2, delimited);
    return put_varint(at, value_size);
}

// AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5.
template <typename Out>
[[gnu::always_inline]] inline void put_string_attribute(Out& out, char list_key,
                                                      std::string_view name,
                                                      std::string_view text) {
    const auto checked = as_utf8(text, out.scratch());
    const auto value_size = 1 + varint_size(checked.size()) + checked.size();
    char* at = out.room(2 * 11 + name.size() + 11 + value_size);
    at = key_value_head(at, list_key, name, value_size);
    out.done(put_bytes(at, key(1, delimited), checked));
}

template <typename Out>
void put_array_attribute(Out& out, char list_key, std::string_view name,
                         std::span<const std::string> list) {
    // Nearly always all ASCII: the sizes are known at once and it is written in one piece.
    std::size_t array_size = 0;
    bool ascii = true;
    for (const auto& item : list) {
        ascii = ascii && is_ascii(item);
        const auto element_size = 1 + varint_size(item.size()) + item.size();
        array_size += 1 + varint_size(element_size) + element_size;
    }
    if (ascii) {
        const auto value_size = 1 + varint_size(array_size) + array_size;
        char* at = out.room(2 * 11 + name.size() + 11 + value_size);
        at = key_value_head(at, list_key, name, value_size);
        *at++ = key(5, delimited);
        at = put_varint(at, array_size);
        for (const auto& item : list) {
            *at++ = key(1, delimited);
            at = put_varint(at, 1 + varint_size(item.size()) + item.size());
            at = put_bytes(at, key(1, delimited), item);
        }
        return out.done(at);
    }
    // Some item is repaired to UTF-8: each length filled in once its body is written.
    const auto pair = out.open(list_key, 2);
    out.string(key(1, delimited), name);
    const auto value = out.open(key(2, delimited), 2);
    const auto array = out.open(key(5, delimited), 2);
    for (const auto& item : list) {
        // Each element an AnyValue (ArrayValue.values, field 1) with its string_value.
        const auto checked = as_utf8(item, out.scratch());
        const auto element_size = 1 + varint_size(checked.size()) + checked.size();
        char* at = out.room(11 + element_size);
        *at++ = key(1, delimited);
        at = put_varint(at, element_size);
        out.done(put_bytes(at, key(1, delimited), checked));
    }
    out.close(array, 2);
    out.close(value, 2);
    out.close(pair, 2);
}

// int64: its two's complement as a varint (ten bytes when negative).
template <typename Out>
[[gnu::always_inline]] inline void put_int_attribute(Out& out, char list_key,
                                                     std::string_view name, std::int64_t value) {
    const auto number = static_cast<std::uint64_t>(value);
    char* at = out.room(3 * 11 + name.size() + 11);
    at = key_value_head(at, list_key, name, 1 + varint_size(number));
    *at++ = key(3, varint);
    out.done(put_varint(at, number));
}

template <typename Out>
[[gnu::always_inline]] inline void put_double_attribute(Out& out, char list_key,
                                                        std::string_view name, double value) {
    char* at = out.room(3 * 11 + name.size() + 9);
    at = key_value_head(at, list_key, name, 9);
    *at++ = key(4, fixed64);
    out.done(put_fixed64(at, std::bit_cast<std::uint64_t>(value)));
}

template <typename Out>
[[gnu::always_inline]] inline void put_bool_attribute(Out& out, char list_key,
                                                      std::string_view name, bool value) {
    char* at = out.room(3 * 11 + name.size() + 2);
    at = key_value_head(at, list_key, name, 2);
    *at++ = key(2, varint);
    *at++ = static_cast<char>(value ? 1 : 0);
    out.done(at);
}

using BatchOut = ProtoOut<SpanBatch>;

// An attribute kept as a value (an event's, the resource's).
void put_attribute(BatchOut& out, char list_key, const Attribute& attribute) {
    const auto& value = attribute.value;
    const auto name = attribute.key;
    switch (value.index()) {
        case 0:
            return put_string_attribute(out, list_key, name, *std::get_if<0>(&value));
        case 1:
            return put_int_attribute(out, list_key, name, *std::get_if<1>(&value));
        case 2:
            return put_double_attribute(out, list_key, name, *std::get_if<2>(&value));
        case 3:
            return put_bool_attribute(out, list_key, name, *std::get_if<3>(&value));
        case 4:
            return put_array_attribute(out, list_key, name, *std::get_if<4>(&value));
        case 5:
            return put_string_attribute(out, list_key, name, *std::get_if<5>(&value));
        default:
            return put_array_attribute(out, list_key, name, *std::get_if<6>(&value));
    }
}

// Span.Event: time_unix_nano 1 (fixed64), name 2, attributes 3.
void put_event(BatchOut& out, const SpanEvent& event) {
    const auto body = out.open(key(11, delimited), 1);
    char* at = out.room(9);
    *at++ = key(1, fixed64);
    out.done(put_fixed64(at, event.time));
    out.string(key(2, delimited), event.name);
    for (const auto& attribute : event.attributes) put_attribute(out, key(3, delimited), attribute);
    out.close(body, 1);
}

// Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start_time_unix_nano 7 and
// end_time_unix_nano 8 (fixed64), attributes 9, events 11, status 15 (message 2, code 3).
void put_span(BatchOut& out, const Span& span) {
    const auto body = out.open(key(2, delimited), 2);  // ScopeSpans.spans
    char* at = out.room(2 + 16 + 2 + 8 + 2 + 8);
    // The ids by memcpy: std::copy from bytes to chars went a byte at a time.
    *at++ = key(1, delimited), *at++ = 16;
    std::memcpy(at, span.trace_id.data(), 16);
    at += 16;
    *at++ = key(2, delimited), *at++ = 8;
    std::memcpy(at, span.span_id.data(), 8);
    at += 8;
    std::uint64_t parent;
    std::memcpy(&parent, span.parent_span_id.data(), 8);
    if (parent != 0) {  // a root span has none
        *at++ = key(4, delimited), *at++ = 8;
        std::memcpy(at, span.parent_span_id.data(), 8);
        at += 8;
    }
    out.done(at);
    out.string(key(5, delimited), span.name);
    at = out.room(2 + 9 + 9);
    *at++ = key(6, varint), *at++ = static_cast<char>(span.kind);
    *at++ = key(7, fixed64);
    at = put_fixed64(at, span.start);
    *at++ = key(8, fixed64);
    out.done(put_fixed64(at, span.end));
    // The attributes, encoded as they were set.
    const auto attributes = span.attributes.bytes();
    at = out.room(attributes.size());
    std::memcpy(at, attributes.data(), attributes.size());
    out.done(at + attributes.size());
    for (const auto& event : span.events) put_event(out, event);
    if (span.status != StatusCode::unset || !span.status_message.empty()) {
        const auto status = out.open(key(15, delimited), 1);
        out.string(key(2, delimited), span.status_message);
        if (span.status != StatusCode::unset) {
            at = out.room(2);
            *at++ = key(3, varint), *at++ = static_cast<char>(span.status);
            out.done(at);
        }
        out.close(status, 1);
    }
    out.close(body, 2);
}

// Room before the resource and before the scope for a key and a length of up to ten bytes.
constexpr std::size_t head_room = 11;

}  // namespace

char* SpanBatch::grow(std::size_t n) {
    // A span is some five hundred bytes; start with room for a few dozen.
    const auto capacity = std::max({2 * capacity_, size_ + n, std::size_t{16 * 1024}});
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
    return data_.get() + size_;
}

// ExportTraceServiceRequest: resource_spans 1. ResourceSpans: resource 1 (Resource:
// attributes 1), scope_spans 2. ScopeSpans: scope 1 (InstrumentationScope: name 1, version
// 2), spans 2. Written now: the resource and the scope, each after room for what goes in
// front of it at finish().
SpanBatch::SpanBatch(std::string_view service_name, std::string_view service_version,
                     std::size_t reserve) {
    if (reserve > 0) grow(reserve);
    BatchOut out(*this);
    out.done(room(head_room) + head_room);
    const auto resource = out.open(key(1, delimited), 2);
    const Attribute attributes[] = {{"service.name", service_name},
                                    {"service.version", service_version},
                                    {"telemetry.sdk.name", std::string_view("llmgw")},
                                    {"telemetry.sdk.language", std::string_view("cpp")}};
    for (const auto& attribute : attributes) put_attribute(out, key(1, delimited), attribute);
    out.close(resource, 2);
    resource_ = std::string(at(head_room), size_ - head_room);
    out.done(room(head_room) + head_room);
    front_ = size_;
    const auto scope = out.open(key(1, delimited), 1);
    out.string(key(1, delimited), "llmgw");
    out.string(key(2, delimited), service_version);
    out.close(scope, 1);
}

void SpanBatch::append(const Span& span) {
    BatchOut out(*this);
    put_span(out, span);
    ++spans_;
}

// In front of the scope: the ScopeSpans' key and length, the resource, the ResourceSpans'
// key and length; the request starts there.
std::string_view SpanBatch::finish() {
    if (!finished_) {
        char head[head_room];
        head[0] = key(2, delimited);
        auto head_size = static_cast<std::size_t>(put_varint(head + 1, size_ - front_) - head);
        auto start = front_ - head_size;
        std::memcpy(at(start), head, head_size);
        start -= resource_.size();
        std::memmove(at(start), resource_.data(), resource_.size());
        head[0] = key(1, delimited);
        head_size = static_cast<std::size_t>(put_varint(head + 1, size_ - start) - head);
        begin_ = start - head_size;
        std::memcpy(at(begin_), head, head_size);
        finished_ = true;
    }
    return {data_.get() + begin_, size_ - begin_};
}

// A span's attributes, each written as the Span's attributes field (9) when set.
namespace {
constexpr char span_attribute = key(9, delimited);
using AttributesOut = ProtoOut<SpanAttributes>;
// For the scalars: the buffer alone (no string kept for a repair).
struct ScalarOut {
    SpanAttributes& attributes;
    char* room(std::size_t n) { return attributes.room(n); }
    void done(const char* end) { attributes.advance_to(end); }
};
}  // namespace

char* SpanAttributes::grow(std::size_t n) {
    // A CLIENT span's attributes take some 400 bytes.
    bytes_.resize(std::max({2 * bytes_.size(), used_ + n, std::size_t{512}}));
    return bytes_.data() + used_;
}

void Span::set(std::string_view name, std::string_view value) {
    if (!is_ascii(value)) [[unlikely]] {
        AttributesOut out(attributes);
        return put_string_attribute(out, span_attribute, name, value);
    }
    const auto value_size = 1 + varint_size(value.size()) + value.size();
    char* at = attributes.room(2 * 11 + name.size() + 11 + value_size);
    at = key_value_head(at, span_attribute, name, value_size);
    attributes.advance_to(put_bytes(at, key(1, delimited), value));
}

void Span::set(std::string_view key, std::int64_t value) {
    ScalarOut out{attributes};
    put_int_attribute(out, span_attribute, key, value);
}

void Span::set(std::string_view key, double value) {
    ScalarOut out{attributes};
    put_double_attribute(out, span_attribute, key, value);
}

void Span::set_bool(std::string_view key, bool value) {
    ScalarOut out{attributes};
    put_bool_attribute(out, span_attribute, key, value);
}

void Span::set(std::string_view key, std::span<const std::string> list) {
    AttributesOut out(attributes);
    put_array_attribute(out, span_attribute, key, list);
}

std::string encode_otlp(const std::vector<Span>& spans, std::string_view service_name,
                        std::string_view service_version) {
    SpanBatch batch(service_name, service_version);
    for (const auto& span : spans) batch.append(span);
    return std::string(batch.finish());
}

}  // namespace llmgw::tracing
