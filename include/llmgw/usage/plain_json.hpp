// A reader of plain JSON text that allocates nothing and builds no tree: for the few figures the
// token estimates and counts need from a request or an answer. It gives up (ok = false) on
// anything it is not sure to read as nlohmann::json does: non-ASCII bytes, \u escapes, escaped
// keys, exponents, integers of 19 digits or more, deep nesting; its callers then parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace llmgw::usage {

// What those readers need of one JSON value (text_bytes in limits/reservation_estimate.cpp).
struct PlainJsonSummary {
    std::uint64_t text = 0;           // text_bytes(value): a string's bytes, 4 for a number, ...
    std::uint64_t items = 0;          // an array: its elements
    std::uint64_t item_contents = 0;  // an array: text of its object elements' "content"
    std::uint64_t content = 0;        // an object: text of its "content"
    std::optional<std::uint64_t> count;       // an integer >= 0 (-0 included): its value
    bool is_unsigned = false;                 // an integer written without a sign
    std::optional<std::uint64_t> max_tokens;  // an object: the count of its "max_tokens"
    bool object = false;
    bool is_true = false;  // the literal true
};

// How many bytes from `p` are plain string text: up to the first '"', '\\', control byte or
// non-ASCII byte (what a JSON string holds as it is, with nothing to decode or check).
std::size_t plain_run(const char* p, std::size_t n);

class PlainJsonReader {
public:
    explicit PlainJsonReader(std::string_view text) : text_(text) {}

    bool ok = true;

    bool at_end();
    bool next_is(char c);
    bool take(char c);
    bool fail() {
        ok = false;
        return false;
    }
    // A string: its bytes once decoded, or nullopt. `key` gets its text; a key with an escape is
    // given up on (keys are matched as written).
    std::optional<std::uint64_t> string(std::string_view* key = nullptr);
    // Any value, checked whole; in an object, a repeat of "text", "content", "input_text" or
    // "max_tokens" gives up (a parsed body keeps the last; this reader does not go back).
    PlainJsonSummary value(int depth);
    // The text is one object and nothing after it: `member(key, summary)` for each member, in
    // order, until it returns false. False when the text is not that, or a member refused.
    template <typename Member>
    bool read_object(Member&& member) {
        if (!take('{')) return false;
        if (!next_is('}')) {
            do {
                std::string_view key;
                if (!string(&key) || !take(':')) return false;
                const auto item = value(1);
                if (!ok || !member(key, item)) return false;
            } while (next_is(',') && take(','));
        }
        return take('}') && at_end();
    }

private:
    bool number(PlainJsonSummary& out);
    bool literal();
    PlainJsonSummary array(int depth);
    PlainJsonSummary object(int depth);
    void skip_space();

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace llmgw::usage
