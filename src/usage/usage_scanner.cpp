// Finding "usage" in JSON answers and SSE streams without slowing the relay.
#include "llmgw/usage/usage_scanner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>

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

std::optional<UsageCounts> read_usage_counts(std::string_view object) {
    static constexpr std::string_view keys[] = {"prompt_tokens", "input_tokens",
                                                "completion_tokens", "output_tokens",
                                                "total_tokens"};
    std::optional<std::uint64_t> counts[std::size(keys)];
    unsigned seen = 0;
    PlainJsonReader reader(object);
    const bool read = reader.read_object([&](std::string_view key, const PlainJsonSummary& item) {
        const auto found = std::find(std::begin(keys), std::end(keys), key);
        if (found == std::end(keys)) return true;
        const auto bit = 1u << (found - std::begin(keys));
        if ((seen & bit) != 0) return false;  // a tree keeps the last; no going back
        seen |= bit;
        if (item.is_unsigned) counts[found - std::begin(keys)] = item.count;
        return true;
    });
    if (!read) return std::nullopt;
    return UsageCounts{counts[0] ? counts[0] : counts[1], counts[2] ? counts[2] : counts[3],
                       counts[4]};
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

// The "usage" object of a JSON answer, cut out by matching braces, so that only it is parsed
// (OpenAI-style answers put it last; the texts before it can be long).
std::string_view usage_object(std::string_view json) {
    const auto key = json.rfind("\"usage\"");
    if (key == std::string_view::npos) return {};
    const auto open = json.find('{', key);
    if (open == std::string_view::npos) return {};
    int depth = 0;
    bool in_string = false;
    for (auto i = open; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            return json.substr(open, i - open + 1);
        }
    }
    return {};
}

}  // namespace

std::string_view UsageScanner::finish() {
    if (!event_stream_) {
        if (!json_too_large_ && !pending_.empty()) {
            const auto object = usage_object(pending_);
            // Most answers' usage is plain JSON, read without a parse; the parser has the rest.
            if (const auto counts = read_usage_counts(object))
                add_counts(counts->prompt, counts->completion, counts->total);
            else if (!object.empty())
                read_usage("{\"usage\":" + std::string(object) + "}", nullptr);
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
