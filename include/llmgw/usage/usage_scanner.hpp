// Reads the LLM token usage out of an answer as it is relayed: the "usage" object of a JSON
// answer, or of a server-sent event (the last chunk of a stream). It can also drop the
// usage-only event that the gateway asked the upstream for on the client's behalf.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::usage {

struct TokenUsage {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    bool estimated = false;  // the answer had no usage; counted from sizes
    std::uint64_t total() const { return prompt_tokens + completion_tokens; }
};

// The figures of a usage object ({"prompt_tokens": ...}) read from its text without a parse, as
// the scanner reads them from a parsed one: prompt_tokens else input_tokens, completion_tokens
// else output_tokens, total_tokens, each only when an integer written without a sign. Nullopt
// when the text leaves what usage/plain_json.hpp reads for sure (the scanner then parses it).
struct UsageCounts {
    std::optional<std::uint64_t> prompt, completion, total;
};
std::optional<UsageCounts> read_usage_counts(std::string_view object);

class UsageScanner {
public:
    // A JSON answer is kept (up to this size) until it ends, to read its usage.
    static constexpr std::size_t max_json_bytes = 1024 * 1024;

    // `event_stream`: the answer is text/event-stream. `drop_usage_only_event`: remove the
    // event whose choices are empty and which carries usage (stream_options.include_usage).
    UsageScanner(bool event_stream, bool drop_usage_only_event);

    // The bytes to send to the client for this piece: the piece itself, or, when events
    // are being filtered, the complete events in it (a partial event waits for its end).
    // The view stays valid until the next call.
    std::string_view feed(std::string_view piece);
    // Whatever is still held back when the answer ends.
    std::string_view finish();

    std::optional<TokenUsage> usage() const { return usage_; }
    std::uint64_t body_bytes() const { return body_bytes_; }
    // Events of a stream that carried a choice's text (one token each, as vLLM streams): what a
    // stream cut before its usage event is charged for.
    std::uint64_t content_events() const { return content_events_; }

private:
    void scan_event(std::string_view event, bool& keep);
    void read_usage(std::string_view json_text, bool* usage_only);
    // Takes what a usage reports; false when it reports no tokens at all.
    bool add_counts(std::optional<std::uint64_t> prompt, std::optional<std::uint64_t> completion,
                    std::optional<std::uint64_t> total);

    bool event_stream_;
    bool drop_;
    std::string pending_;  // an incomplete event (streams), or the JSON so far
    std::string out_;
    std::optional<TokenUsage> usage_;
    std::uint64_t body_bytes_ = 0;
    std::uint64_t content_events_ = 0;
    bool json_too_large_ = false;
};

}  // namespace llmgw::usage
