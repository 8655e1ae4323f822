// The characters and lines of HTTP/1.1 field syntax (RFC 9110 §5, RFC 9112 §5), as llmgw's two
// parsers of their own read them: the upstream answer's (upstream/answer_parser) and the simple
// client request's (http/simple_request). Both are held to Beast's parser by differential fuzz
// targets, so they share one reading of a field line.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace llmgw::headers {

// tchar (RFC 9110 §5.6.2): the characters of a field name, a method or a token.
inline constexpr std::array<bool, 256> token_chars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

inline bool is_token_char(char c) { return token_chars[static_cast<unsigned char>(c)]; }

// field-vchar, SP or HTAB: what a field value, a reason phrase and a chunk extension's quoted
// text may hold (obs-text included: bytes 0x80 and up).
inline constexpr std::array<bool, 256> text_chars = [] {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x100; ++c) table[c] = c != 0x7f;
    table['\t'] = true;
    return table;
}();

inline bool is_text_char(char c) { return text_chars[static_cast<unsigned char>(c)]; }

inline bool is_space(char c) { return c == ' ' || c == '\t'; }

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Without optional whitespace (SP, HTAB) at either end.
inline std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// 1*DIGIT, within 64 bits.
inline bool parse_decimal(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    std::uint64_t value = 0;
    for (const char c : text) {
        if (!is_digit(c)) return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) return false;
        value = value * 10 + digit;
    }
    out = value;
    return true;
}

// True when none of `text`'s bytes is a control character other than HTAB (is_text_char for
// each). Eight bytes at a time: a field value is most of a head's bytes, and a byte-by-byte loop
// over it was a tenth of a request's parse.
inline bool is_text(const char* p, const char* end) {
    constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    for (; end - p >= 8; p += 8) {
        std::uint64_t word;
        std::memcpy(&word, p, sizeof word);
        // Any byte below 0x20, or any 0x7f (a zero byte once xored), sets a high bit here
        // (exact for "any", not for which; bytes from 0x80 up never do).
        const std::uint64_t del = word ^ (ones * 0x7f);
        const std::uint64_t control = ((word - ones * 0x20) & ~word) | ((del - ones) & ~del);
        if ((control & highs) == 0) continue;
        for (int i = 0; i < 8; ++i)
            if (!is_text_char(p[i])) return false;  // else a tab
    }
    bool text = true;
    for (; p != end; ++p) text &= is_text_char(*p);
    return text;
}

// One field line, "name: value" and its CRLF, from `p`: the next line's start, or nullptr when
// it is not one. `value` loses its spaces at both ends.
inline const char* read_field_line(const char* p, const char* end, std::string_view& name,
                                   std::string_view& value) {
    // The line ends at its CR, the name at the first colon (memchr: vectorised); every byte of
    // the name must be a token character, every byte of the value text.
    const auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
    if (cr == nullptr || end - cr < 2 || cr[1] != '\n') return nullptr;
    const auto* colon = static_cast<const char*>(std::memchr(p, ':', static_cast<std::size_t>(cr - p)));
    if (colon == nullptr || colon == p) return nullptr;
    bool token = true;
    for (const char* c = p; c != colon; ++c) token &= is_token_char(*c);
    if (!token || !is_text(colon + 1, cr)) return nullptr;
    name = std::string_view(p, static_cast<std::size_t>(colon - p));
    p = colon + 1;
    const char* value_end = cr;
    while (p != value_end && is_space(*p)) ++p;
    while (value_end != p && is_space(value_end[-1])) --value_end;
    value = std::string_view(p, static_cast<std::size_t>(value_end - p));
    return cr + 2;
}

}  // namespace llmgw::headers
