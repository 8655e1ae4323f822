// The protobuf bytes that spans are written in (otlp_proto.cpp, and Span's setters, which write
// a span's attributes inline where they are set): keys, varints, fixed64s, short copies.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace llmgw::tracing::proto {

// A field's key: its number and wire type (varint 0, fixed64 1, length-delimited 2). Every
// field written here has a number below 16: its key is one byte.
constexpr char key(unsigned field, unsigned wire) {
    return static_cast<char>(field << 3 | wire);
}
constexpr unsigned varint = 0, fixed64 = 1, delimited = 2;

// Most lengths and values here are below 128 or 16384: those are tested first (the general
// case, a bit count, was a tenth of the encoder).
[[gnu::always_inline]] inline std::size_t varint_size(std::uint64_t value) {
    if (value < 0x80) return 1;
    if (value < 0x4000) return 2;
    return (static_cast<std::size_t>(std::bit_width(value)) + 6) / 7;
}

[[gnu::always_inline]] inline char* put_varint(char* at, std::uint64_t value) {
    while (value >= 0x80) {
        *at++ = static_cast<char>(value | 0x80);
        value >>= 7;
    }
    *at++ = static_cast<char>(value);
    return at;
}

inline char* put_fixed64(char* at, std::uint64_t value) {
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(at, &value, 8);
    } else {
        for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(value >> (8 * i));
    }
    return at + 8;
}

// A copy of a short string (most keys and values here are 4 to 32 bytes) by overlapping loads
// and stores, not a call to memcpy, which was a sixth of the encoder's instructions (and the
// attribute keys of 17 to 32 bytes still took one each).
[[gnu::always_inline]] inline void copy(char* to, const char* from, std::size_t n) {
    const auto two_words = [](char* to, const char* from, std::size_t n) {  // 8 <= n <= 16
        std::uint64_t head, tail;
        std::memcpy(&head, from, 8);
        std::memcpy(&tail, from + n - 8, 8);
        std::memcpy(to, &head, 8);
        std::memcpy(to + n - 8, &tail, 8);
    };
    if (n >= 8 && n <= 16) {
        two_words(to, from, n);
    } else if (n > 16 && n <= 32) {
        two_words(to, from, 16);                    // the first 16 bytes
        two_words(to + n - 16, from + n - 16, 16);  // the last 16 (overlapping)
    } else if (n >= 4 && n < 8) {
        std::uint32_t head, tail;
        std::memcpy(&head, from, 4);
        std::memcpy(&tail, from + n - 4, 4);
        std::memcpy(to, &head, 4);
        std::memcpy(to + n - 4, &tail, 4);
    } else {
        std::memcpy(to, from, n);
    }
}

[[gnu::always_inline]] inline char* put_bytes(char* at, char field_key, std::string_view bytes) {
    *at++ = field_key;
    at = put_varint(at, bytes.size());
    copy(at, bytes.data(), bytes.size());
    return at + bytes.size();
}

// Whether `text` is all ASCII (nearly every value is): its bytes or-ed together eight at a
// time, the rest by overlapping loads (the last eight, or two of four), not byte by byte.
[[gnu::always_inline]] inline bool is_ascii(std::string_view text) {
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const auto size = text.size();
    std::uint64_t seen = 0;
    std::size_t i = 0;
    for (std::uint64_t word; i + 8 <= size; i += 8) {
        std::memcpy(&word, text.data() + i, 8);
        seen |= word;
    }
    if (i < size && size >= 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + size - 8, 8);
        seen |= word;
    } else if (size >= 4) {
        std::uint32_t head, tail;
        std::memcpy(&head, text.data(), 4);
        std::memcpy(&tail, text.data() + size - 4, 4);
        seen |= head | tail;
    } else {
        for (std::size_t j = 0; j < size; ++j) seen |= static_cast<unsigned char>(text[j]);
    }
    return (seen & highs) == 0;
}

}  // namespace llmgw::tracing::proto
