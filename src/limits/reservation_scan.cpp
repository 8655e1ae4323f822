// The reservation estimate read straight from the body's text, without building a JSON tree:
// the same figures as estimate_request on the parsed body, or no answer when the body leaves
// the plain subset this reader is sure about (then the caller parses it).
#include <algorithm>
#include <optional>

#include "llmgw/limits/reservation_estimate.hpp"

namespace llmgw::limits {

namespace {

constexpr int max_depth = 32;
constexpr std::uint64_t max_choices = 128;
constexpr std::uint64_t max_output_cap = 1ull << 40;

// What estimate_request reads of one JSON value (text_bytes and count fields in
// reservation_estimate.cpp and usage/request_shape.cpp).
struct Summary {
    std::uint64_t text = 0;             // text_bytes(value)
    std::uint64_t items = 0;            // an array: its elements
    std::uint64_t item_contents = 0;    // an array: text_bytes of its object elements' "content"
    std::uint64_t content = 0;          // an object: text_bytes of its "content"
    std::optional<std::uint64_t> count;       // a non-negative integer: its value
    std::optional<std::uint64_t> max_tokens;  // an object: the count of its "max_tokens"
    bool object = false;
};

// A reader that gives up (ok = false) on anything it is not sure to read as nlohmann::json
// does: non-ASCII bytes, \u escapes, escaped keys, exponents, long numbers, a repeated key
// that counts, deep nesting.
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool ok = true;

    bool at_end() {
        skip_space();
        return pos_ == text_.size();
    }
    bool next_is(char c) {
        skip_space();
        return pos_ < text_.size() && text_[pos_] == c;
    }
    bool take(char c) {
        if (!next_is(c)) return fail();
        ++pos_;
        return true;
    }
    bool fail() {
        ok = false;
        return false;
    }

    // A string: its bytes once decoded, or nullopt. `key` gets its text, and a string with an
    // escape is given up on there (a key is matched as written).
    std::optional<std::uint64_t> string(std::string_view* key = nullptr) {
        if (!take('"')) return std::nullopt;
        const auto start = pos_;
        std::uint64_t bytes = 0;
        while (pos_ < text_.size()) {
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

    // A number: the count it makes when a non-negative integer.
    bool number(Summary& out) {
        const auto start = pos_;
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
        out.text = prompt_bytes_per_token;  // a token id
        if (integer && (!negative || value == 0)) out.count = value;
        return pos_ > start;
    }

    bool literal() {
        for (std::string_view word : {"true", "false", "null"})
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return true;
            }
        return fail();
    }

    Summary value(int depth);

private:
    Summary array(int depth);
    Summary object(int depth);
    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
            ++pos_;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

Summary Reader::value(int depth) {
    Summary out;
    if (depth > max_depth) {
        fail();
        return out;
    }
    skip_space();
    if (pos_ == text_.size()) {
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
        literal();
    }
    return out;
}

Summary Reader::array(int depth) {
    Summary out;
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

// Keys of a nested object that text_bytes or count_at read; a repeat of one gives up (the
// parsed body keeps the last, this reader does not go back).
Summary Reader::object(int depth) {
    Summary out;
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

// The top-level fields estimate_request reads.
struct Fields {
    std::uint64_t prompt_bytes = 0, messages = 0;
    std::optional<std::uint64_t> n, max_completion_tokens, max_tokens, max_output_tokens,
        parameters_max_tokens;
    bool parameters = false;
};

// Records one top-level member; false for a repeat of a key that counts.
bool record(Fields& fields, unsigned& seen, std::string_view key, const Summary& item) {
    static constexpr std::string_view keys[] = {
        "messages", "prompt", "input", "instructions", "system", "n",
        "max_completion_tokens", "max_tokens", "max_output_tokens", "parameters"};
    const auto found = std::find(std::begin(keys), std::end(keys), key);
    if (found == std::end(keys)) return true;
    const auto bit = 1u << (found - std::begin(keys));
    if ((seen & bit) != 0) return false;
    seen |= bit;
    const auto index = found - std::begin(keys);
    if (index == 0) {
        fields.messages = item.items;  // zero for a non-array, which estimate_request skips
        fields.prompt_bytes += item.item_contents;
    } else if (index <= 4) {
        fields.prompt_bytes += item.text;
    } else if (index == 5) {
        fields.n = item.count;
    } else if (index == 6) {
        fields.max_completion_tokens = item.count;
    } else if (index == 7) {
        fields.max_tokens = item.count;
    } else if (index == 8) {
        fields.max_output_tokens = item.count;
    } else {
        fields.parameters = true;
        fields.parameters_max_tokens = item.max_tokens;
    }
    return true;
}

std::optional<Fields> read_fields(std::string_view body) {
    Reader reader(body);
    Fields fields;
    unsigned seen = 0;
    if (!reader.take('{')) return std::nullopt;
    if (!reader.next_is('}')) {
        do {
            std::string_view key;
            if (!reader.string(&key) || !reader.take(':')) return std::nullopt;
            const auto item = reader.value(1);
            if (!reader.ok) return std::nullopt;
            if (!record(fields, seen, key, item)) return std::nullopt;
        } while (reader.next_is(',') && reader.take(','));
    }
    if (!reader.take('}') || !reader.at_end()) return std::nullopt;
    return fields;
}

// usage::max_output_tokens, on the fields read.
std::optional<std::uint64_t> output_cap(const Fields& fields, usage::EndpointShape shape) {
    using Shape = usage::EndpointShape;
    switch (shape) {
        case Shape::chat_completions:
            return fields.max_completion_tokens ? fields.max_completion_tokens : fields.max_tokens;
        case Shape::completions:
        case Shape::messages: return fields.max_tokens;
        case Shape::responses: return fields.max_output_tokens;
        case Shape::triton_generate:
            if (fields.max_tokens) return fields.max_tokens;
            return fields.parameters ? fields.parameters_max_tokens : std::nullopt;
        case Shape::transcriptions:
        case Shape::other: return std::nullopt;
        default: return 0;
    }
}

}  // namespace

std::optional<RequestEstimate> estimate_request_text(std::string_view body,
                                                     usage::EndpointShape shape,
                                                     std::uint64_t default_completion) {
    const auto fields = read_fields(body);
    if (!fields) return std::nullopt;
    RequestEstimate estimate;
    estimate.prompt_tokens = (fields->prompt_bytes + prompt_bytes_per_token - 1) / prompt_bytes_per_token +
                             fields->messages * tokens_per_message;
    if (!usage::produces_text(shape)) return estimate;
    const auto per_choice =
        std::min(output_cap(*fields, shape).value_or(default_completion), max_output_cap);
    const auto choices = std::clamp<std::uint64_t>(fields->n.value_or(1), 1, max_choices);
    estimate.completion_tokens = per_choice * choices;
    return estimate;
}

}  // namespace llmgw::limits
