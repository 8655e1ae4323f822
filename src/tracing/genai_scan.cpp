// Reading the GenAI request attributes from the body's text, its top-level keys only: a
// traced request whose body nothing else parsed is spared a JSON parse (the largest share of
// a traced request's cost). Anything unusual is left to the parser.
#include <charconv>
#include <cstring>

#include "llmgw/tracing/genai.hpp"

namespace llmgw::tracing {

namespace {

class TopLevelScan {
public:
    explicit TopLevelScan(std::string_view text) : text_(text) {}

    // Each top-level key of the object with the text of its value, in order; false when the
    // text is not a plain JSON object (then nothing read can be trusted).
    template <typename Found>
    bool each(Found found) {
        if (!punct('{')) return false;
        if (punct('}')) return rest_is_space();
        do {
            std::string_view key;
            if (!string(key) || !punct(':')) return false;
            space();
            const auto begin = at_;
            if (!skip_value()) return false;
            found(key, text_.substr(begin, at_ - begin));
        } while (punct(','));
        return punct('}') && rest_is_space();
    }

private:
    void space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' ||
                                      text_[at_] == '\r' || text_[at_] == '\t'))
            ++at_;
    }
    bool punct(char c) {
        space();
        if (at_ >= text_.size() || text_[at_] != c) return false;
        ++at_;
        return true;
    }
    bool rest_is_space() {
        space();
        return at_ == text_.size();
    }
    // A string without escapes (a key or value with one is left to the parser).
    bool string(std::string_view& out) {
        space();
        if (at_ >= text_.size() || text_[at_] != '"') return false;
        const auto close = text_.find('"', at_ + 1);
        if (close == std::string_view::npos) return false;
        out = text_.substr(at_ + 1, close - at_ - 1);
        if (out.find('\\') != std::string_view::npos) return false;
        at_ = close + 1;
        return true;
    }
    // Skips a value: a string (escapes included), a nested object or array by its depth (the
    // strings in it skipped whole), or a literal. Only the top level's shape is checked: a
    // nested value is not validated.
    bool skip_value() {
        if (at_ >= text_.size()) return false;
        const char first = text_[at_];
        if (first == '"') return skip_string();
        if (first != '{' && first != '[') return skip_literal();
        std::size_t depth = 0;
        while (at_ < text_.size()) {
            const char c = text_[at_];
            if (c == '"') {
                if (!skip_string()) return false;
                continue;
            }
            ++at_;
            if (c == '{' || c == '[') ++depth;
            if ((c == '}' || c == ']') && --depth == 0) return true;
        }
        return false;
    }
    // true, false, null or a number's characters.
    bool skip_literal() {
        const auto begin = at_;
        bool number = true;
        for (; at_ < text_.size(); ++at_) {  // a loop: find_first_of costs a memchr a byte
            const char c = text_[at_];
            if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' ||
                c == '\t')
                break;
            number = number && ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
                                c == 'e' || c == 'E');
        }
        const auto literal = text_.substr(begin, at_ - begin);
        return (number && !literal.empty()) || literal == "true" || literal == "false" ||
               literal == "null";
    }
    bool skip_string() {
        for (auto at = at_ + 1; at < text_.size(); ++at) {
            const auto* quote = static_cast<const char*>(
                std::memchr(text_.data() + at, '"', text_.size() - at));
            if (quote == nullptr) return false;
            at = static_cast<std::size_t>(quote - text_.data());
            std::size_t backslashes = 0;
            while (text_[at - 1 - backslashes] == '\\') ++backslashes;
            if (backslashes % 2 == 0) {
                at_ = at + 1;
                return true;
            }
        }
        return false;
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

// A JSON value's text trimmed of trailing space.
std::string_view trimmed(std::string_view value) {
    while (!value.empty() && (value.back() == ' ' || value.back() == '\n' ||
                              value.back() == '\r' || value.back() == '\t'))
        value.remove_suffix(1);
    return value;
}

// A JSON integer (no fraction or exponent) that fits in 64 bits.
std::optional<std::int64_t> integer(std::string_view value) {
    std::int64_t n = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
    if (value.size() > 1 && (value[0] == '0' || (value[0] == '-' && value[1] == '0')))
        return std::nullopt;  // a leading zero: not JSON
    return n;
}

}  // namespace

std::optional<GenAiRequest> scan_genai_request(std::string_view path, std::string_view body) {
    GenAiRequest request;
    request.operation = std::string(genai_operation(path));
    if (request.operation.empty()) return request;
    std::optional<std::string_view> model, max_tokens, max_completion_tokens, stream;
    TopLevelScan scan(body);
    const bool plain = scan.each([&](std::string_view key, std::string_view value) {
        // By length first: most keys (messages, temperature, ...) are then one compare.
        switch (key.size()) {
            case 5:
                if (key == "model") model = trimmed(value);
                break;
            case 6:
                if (key == "stream") stream = trimmed(value);
                break;
            case 10:
                if (key == "max_tokens") max_tokens = trimmed(value);
                break;
            case 21:
                if (key == "max_completion_tokens") max_completion_tokens = trimmed(value);
                break;
            default:
                break;
        }
    });
    if (!plain) return std::nullopt;
    if (model && model->size() >= 2 && model->front() == '"') {
        const auto text = model->substr(1, model->size() - 2);
        if (text.find('\\') != std::string_view::npos) return std::nullopt;
        request.model = std::string(text);
    }
    // max_completion_tokens is the newer name of the same limit.
    for (const auto* limit : {&max_completion_tokens, &max_tokens}) {
        if (!*limit) continue;
        const auto value = **limit;
        const auto n = integer(value);
        if (!n) {
            if (value.find_first_not_of("-0123456789") == std::string_view::npos)
                return std::nullopt;  // out of range (or "-0"): as the parser reads it
            continue;  // a fraction, an exponent, a string, null: not an integer
        }
        request.max_tokens = *n;
        break;
    }
    request.stream = stream && *stream == "true";
    return request;
}

}  // namespace llmgw::tracing
