// The plain-JSON reader: one pass over the text, no allocation, no tree.
#include "llmgw/usage/plain_json.hpp"

#include <bit>
#include <cstring>

namespace llmgw::usage {

namespace {
constexpr int max_depth = 32;
constexpr std::uint64_t bytes_per_number = 4;  // a token id counts as 4 bytes of text
}  // namespace

// Eight bytes a step (a byte at a time was most of reading an answer): a byte
// is flagged by the borrow of a subtraction, and only a flagged byte starts a borrow, so the
// lowest flag is always a true one.
std::size_t plain_run(const char* p, std::size_t n) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        const std::uint64_t quote = w ^ (ones * '"');
        const std::uint64_t backslash = w ^ (ones * '\\');
        const std::uint64_t flags = (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                                     ((w - ones * 0x20) & ~w) | w) &
                                    highs;
        if (flags != 0) return i + static_cast<std::size_t>(std::countr_zero(flags) >> 3);
    }
    for (; i < n; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
    }
    return n;
}

void PlainJsonReader::skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t'))
        ++pos_;
}

bool PlainJsonReader::at_end() {
    skip_space();
    return pos_ == text_.size();
}

bool PlainJsonReader::next_is(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
}

bool PlainJsonReader::take(char c) {
    if (!next_is(c)) return fail();
    ++pos_;
    return true;
}

std::optional<std::uint64_t> PlainJsonReader::string(std::string_view* key) {
    if (!take('"')) return std::nullopt;
    const auto start = pos_;
    std::uint64_t bytes = 0;
    while (pos_ < text_.size()) {
        const auto run = plain_run(text_.data() + pos_, text_.size() - pos_);
        pos_ += run;
        bytes += run;
        if (pos_ == text_.size()) break;
        const auto c = static_cast<unsigned char>(text_[pos_++]);
        if (c == '"') {
            if (key != nullptr) *key = text_.substr(start, pos_ - 1 - start);
            return bytes;
        }
        if (c < 0x20 || c >= 0x80) break;
        if (c == '\\') {
            if (key != nullptr || pos_ == text_.size()) break;
            const char e = text_[pos_++];
            if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) break;
        }
        ++bytes;
    }
    fail();
    return std::nullopt;
}

bool PlainJsonReader::number(PlainJsonSummary& out) {
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    const auto digits_from = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        value = value * 10 + static_cast<std::uint64_t>(text_[pos_++] - '0');
    const auto digits = pos_ - digits_from;
    if (digits == 0 || digits > 18 || (digits > 1 && text_[digits_from] == '0')) return fail();
    bool integer = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
        integer = false;
        const auto fraction_from = ++pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        if (pos_ == fraction_from) return fail();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) return fail();
    out.text = bytes_per_number;
    if (integer && (!negative || value == 0)) out.count = value;
    out.is_unsigned = integer && !negative;
    return true;
}

bool PlainJsonReader::literal() {
    for (std::string_view word : {"true", "false", "null"})
        if (text_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return true;
        }
    return fail();
}

PlainJsonSummary PlainJsonReader::value(int depth) {
    PlainJsonSummary out;
    skip_space();
    if (depth > max_depth || pos_ == text_.size()) {
        fail();
        return out;
    }
    const char c = text_[pos_];
    if (c == '{') return object(depth + 1);
    if (c == '[') return array(depth + 1);
    if (c == '"') {
        out.text = string().value_or(0);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        number(out);
    } else {
        out.is_true = text_.substr(pos_, 4) == "true";
        literal();
    }
    return out;
}

PlainJsonSummary PlainJsonReader::array(int depth) {
    PlainJsonSummary out;
    take('[');
    if (next_is(']')) {
        take(']');
        return out;
    }
    do {
        const auto item = value(depth);
        if (!ok) return out;
        ++out.items;
        out.text += item.text;
        if (item.object) out.item_contents += item.content;
    } while (next_is(',') && take(','));
    take(']');
    return out;
}

PlainJsonSummary PlainJsonReader::object(int depth) {
    PlainJsonSummary out;
    out.object = true;
    take('{');
    if (next_is('}')) {
        take('}');
        return out;
    }
    unsigned seen = 0;
    do {
        std::string_view key;
        if (!string(&key) || !take(':')) return out;
        const auto item = value(depth);
        if (!ok) return out;
        const unsigned bit = key == "text"         ? 1
                             : key == "content"    ? 2
                             : key == "input_text" ? 4
                             : key == "max_tokens" ? 8
                                                   : 0;
        if ((seen & bit) != 0) {
            fail();
            return out;
        }
        seen |= bit;
        if ((bit & 7) != 0) out.text += item.text;
        if (bit == 2) out.content = item.text;
        if (bit == 8) out.max_tokens = item.count;
    } while (next_is(',') && take(','));
    take('}');
    return out;
}

}  // namespace llmgw::usage
