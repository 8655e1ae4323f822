// Finding "usage" in JSON answers and SSE streams without slowing the relay.
#include "llmgw/usage/usage_scanner.hpp"

#include <nlohmann/json.hpp>


#include "llmgw/usage/plain_json.hpp"

namespace llmgw::usage {

namespace {
// The end of the first complete event in `text` (past its blank line), or npos.
std::size_t event_end(std::string_view text) {
    const auto lf = text.find("\n\n");
    const auto crlf = text.find("\r\n\r\n");
    if (lf == std::string_view::npos && crlf == std::string_view::npos)
        return std::string_view::npos;
    if (crlf == std::string_view::npos || (lf != std::string_view::npos && lf < crlf))
        return lf + 2;
    return crlf + 4;
}
}  // namespace

UsageScanner::UsageScanner(bool event_stream, bool drop_usage_only_event)
    : event_stream_(event_stream), drop_(event_stream && drop_usage_only_event) {}

namespace {

// The usage object of an answer or event: at the top (OpenAI answers and chunks, Anthropic's
// message_delta), or inside the object the event carries (the Responses API's
// response.completed event, Anthropic's message_start).
const nlohmann::json* find_usage(const nlohmann::json& value) {
    for (const char* holder : {"", "response", "message"}) {
        const auto* object = &value;
        if (*holder != '\0') {
            const auto it = value.find(holder);
            if (it == value.end() || !it->is_object()) continue;
            object = &*it;
        }
        const auto usage = object->find("usage");
        if (usage != object->end() && usage->is_object()) return &*usage;
    }
    return nullptr;
}

std::optional<std::uint64_t> count(const nlohmann::json& usage, const char* a, const char* b) {
    for (const char* key : {a, b}) {
        const auto it = usage.find(key);
        if (it != usage.end() && it->is_number_unsigned()) return it->get<std::uint64_t>();
    }
    return std::nullopt;
}

}  // namespace

void UsageScanner::read_usage(std::string_view json_text, bool* usage_only) {
    const auto value = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_object()) return;
    const auto* usage = find_usage(value);
    if (usage == nullptr) return;
    // OpenAI names (prompt/completion) or the Responses and Anthropic ones (input/output).
    const bool counted = add_counts(count(*usage, "prompt_tokens", "input_tokens"),
                                    count(*usage, "completion_tokens", "output_tokens"),
                                    count(*usage, "total_tokens", "total_tokens"));
    if (counted && usage_only != nullptr) {
        const auto choices = value.find("choices");
        *usage_only = choices != value.end() && choices->is_array() && choices->empty();
    }
}

namespace {

// Which usage figure a key names: its index in read_usage_counts' order, or -1. By length
// first: a find over the five names cost two memcmp calls per member.
int usage_key(std::string_view key) {
    switch (key.size()) {
        case 12: return key == "input_tokens" ? 1 : key == "total_tokens" ? 4 : -1;
        case 13: return key == "prompt_tokens" ? 0 : key == "output_tokens" ? 3 : -1;
        case 17: return key == "completion_tokens" ? 2 : -1;
        default: return -1;
    }
}

// The first byte at or after `i` that is not JSON white space.
std::size_t skip_space(std::string_view s, std::size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
    return i;
}

// The usage objects engines send (vLLM's, SGLang's, Anthropic's without details): one flat
// object whose keys have no escapes and whose values are unsigned integers or null. Read in
// one tight pass (the general reader spent about 400 instructions per member on summaries the
// counts never use); anything else, and any doubt, is nullopt and goes to that reader. Reads
// from the object's '{' to its '}', and sets `end` past it.
std::optional<UsageCounts> read_flat_usage(std::string_view s, std::size_t& end) {
    std::optional<std::uint64_t> counts[5];
    unsigned seen = 0;
    const std::size_t n = s.size();
    std::size_t i = skip_space(s, 0);
    if (i == n || s[i] != '{') return std::nullopt;
    i = skip_space(s, i + 1);
    bool more = i < n && s[i] != '}';
    while (more) {
        if (i == n || s[i] != '"') return std::nullopt;
        // A key ends at its quote; an escape, control or non-ASCII byte first: the reader's.
        const auto length = plain_run(s.data() + i + 1, n - i - 1);
        const auto close = i + 1 + length;
        if (close == n || s[close] != '"') return std::nullopt;
        const auto key = s.substr(i + 1, length);
        i = skip_space(s, close + 1);
        if (i == n || s[i] != ':') return std::nullopt;
        i = skip_space(s, i + 1);
        std::optional<std::uint64_t> value;
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            const auto from = i;
            std::uint64_t number = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                number = number * 10 + static_cast<std::uint64_t>(s[i++] - '0');
            const auto digits = i - from;
            if (digits > 18 || (digits > 1 && s[from] == '0')) return std::nullopt;
            if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) return std::nullopt;
            value = number;
        } else if (s.substr(i, 4) == "null") {
            i += 4;
        } else {
            return std::nullopt;
        }
        if (const int k = usage_key(key); k >= 0) {
            if ((seen & (1u << k)) != 0) return std::nullopt;  // a repeat: the parser keeps the last
            seen |= 1u << k;
            counts[k] = value;
        }
        i = skip_space(s, i);
        if (i == n) return std::nullopt;
        more = s[i] == ',';
        if (more) i = skip_space(s, i + 1);
    }
    if (i == n || s[i] != '}') return std::nullopt;
    end = i + 1;
    return UsageCounts{counts[0] ? counts[0] : counts[1], counts[2] ? counts[2] : counts[3],
                       counts[4]};
}

// Any plain usage object (nested details, strings, negative or fractional numbers), with the
// plain-JSON reader.
std::optional<UsageCounts> read_any_usage(std::string_view object) {
    std::optional<std::uint64_t> counts[5];
    unsigned seen = 0;
    PlainJsonReader reader(object);
    const bool read = reader.read_object([&](std::string_view key, const PlainJsonSummary& item) {
        const int k = usage_key(key);
        if (k < 0) return true;
        const auto bit = 1u << k;
        if ((seen & bit) != 0) return false;  // a tree keeps the last; no going back
        seen |= bit;
        if (item.is_unsigned) counts[k] = item.count;
        return true;
    });
    if (!read) return std::nullopt;
    return UsageCounts{counts[0] ? counts[0] : counts[1], counts[2] ? counts[2] : counts[3],
                       counts[4]};
}

}  // namespace

std::optional<UsageCounts> read_usage_counts(std::string_view object) {
    std::size_t end = 0;
    if (auto counts = read_flat_usage(object, end); counts && skip_space(object, end) == object.size())
        return counts;
    return read_any_usage(object);
}

bool UsageScanner::add_counts(std::optional<std::uint64_t> prompt,
                              std::optional<std::uint64_t> completion,
                              std::optional<std::uint64_t> total) {
    // A usage of another kind (a transcription's audio seconds) counts no tokens: estimated.
    if (!prompt && !completion && !total) return false;
    // A stream may report in parts (Anthropic: the input in message_start, the output in
    // message_delta): each figure keeps its last reported value.
    TokenUsage found = usage_.value_or(TokenUsage{});
    if (prompt) found.prompt_tokens = *prompt;
    if (completion) found.completion_tokens = *completion;
    // Rerank reports only a total: all of it was input.
    if (!prompt && total && *total >= found.completion_tokens)
        found.prompt_tokens = *total - found.completion_tokens;
    usage_ = found;
    return true;
}

void UsageScanner::scan_event(std::string_view event, bool& keep) {
    keep = true;
    if (event.find("\"delta\"") != std::string_view::npos ||
        event.find("\"text\"") != std::string_view::npos)
        ++content_events_;
    // Cheap test first: most events are tokens, not usage.
    if (event.find("\"usage\"") == std::string_view::npos) return;
    std::string data;
    std::size_t pos = 0;
    while (pos < event.size()) {
        auto end = event.find('\n', pos);
        if (end == std::string_view::npos) end = event.size();
        auto line = event.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.rfind("data:", 0) == 0) {
            line.remove_prefix(5);
            if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            data.append(line);
        }
        pos = end + 1;
    }
    bool usage_only = false;
    read_usage(data, &usage_only);
    if (drop_ && usage_only) keep = false;
}

std::string_view UsageScanner::feed(std::string_view piece) {
    body_bytes_ += piece.size();
    if (!event_stream_) {
        if (!json_too_large_) {
            if (pending_.size() + piece.size() > max_json_bytes) {
                json_too_large_ = true;
                pending_.clear();
                pending_.shrink_to_fit();
            } else {
                pending_.append(piece);
            }
        }
        return piece;
    }
    pending_.append(piece);
    out_.clear();
    for (auto end = event_end(pending_); end != std::string::npos; end = event_end(pending_)) {
        bool keep = true;
        scan_event(std::string_view(pending_).substr(0, end), keep);
        if (keep && drop_) out_.append(pending_, 0, end);
        pending_.erase(0, end);
    }
    // An endless event (no blank line) must not grow without bound.
    if (pending_.size() > max_json_bytes) {
        if (drop_) out_.append(pending_);
        pending_.clear();
    }
    return drop_ ? std::string_view(out_) : piece;
}

namespace {

// The "usage" object of a JSON answer from its '{' on (OpenAI-style answers put it last; the
// texts before it can be long), or empty.
// Where the last "usage" key starts, or npos. Compared only where a quote and a 'u' are:
// string_view::rfind compares all seven bytes, through memcmp, at every position, and an
// answer's usage is near its end, after a few hundred bytes of scanning backwards.
std::size_t rfind_usage_key(std::string_view json) {
    constexpr std::string_view key = "\"usage\"";
    if (json.size() < key.size()) return std::string_view::npos;
    for (std::size_t i = json.size() - key.size() + 1; i-- > 0;)
        if (json[i] == '"' && json[i + 1] == 'u' && json.substr(i, key.size()) == key) return i;
    return std::string_view::npos;
}

std::string_view usage_object_on(std::string_view json) {
    const auto key = rfind_usage_key(json);
    if (key == std::string_view::npos) return {};
    const auto open = json.find('{', key);
    if (open == std::string_view::npos) return {};
    return json.substr(open);
}

// That object, cut out by matching braces, so that only it is parsed.
std::string_view usage_object(std::string_view from_open) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < from_open.size(); ++i) {
        const char c = from_open[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            return from_open.substr(0, i + 1);
        }
    }
    return {};
}

}  // namespace

std::string_view UsageScanner::finish() {
    if (!event_stream_) {
        if (!json_too_large_ && !pending_.empty()) {
            // Most answers' usage is one flat object, read where it is (a flat object ends at
            // the first '}'); other plain JSON is cut out and read without a parse; the parser
            // has the rest.
            const auto from_open = usage_object_on(pending_);
            std::size_t end = 0;
            if (const auto flat = read_flat_usage(from_open, end)) {
                add_counts(flat->prompt, flat->completion, flat->total);
            } else if (const auto object = usage_object(from_open); !object.empty()) {
                if (const auto counts = read_usage_counts(object))
                    add_counts(counts->prompt, counts->completion, counts->total);
                else
                    read_usage("{\"usage\":" + std::string(object) + "}", nullptr);
            }
        }
        pending_.clear();
        return {};
    }
    out_.clear();
    if (drop_) out_.swap(pending_);
    pending_.clear();
    return out_;
}

}  // namespace llmgw::usage
