// One stored answer of the response cache, as it is replayed to later identical requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmgw::cache {

using Clock = std::chrono::system_clock;  // wall clock: entries in Redis are shared by hosts

struct CachedAnswer {
    std::string route;
    int status = 200;
    // The upstream's end-to-end headers, minus those that belong to one answer only.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;      // a streamed answer's whole event stream
    bool streamed = false;  // replayed as a server-sent event stream (chunked)
    Clock::time_point stored_at{};
    Clock::time_point expires_at{};
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    // `headers` as a replay writes them ("name: value\r\n" each, in the order and form a
    // field tree gives them), made once by prepare_replay(); unset when they must go through a
    // field tree on every replay (a name a step of the replay may drop, say).
    std::optional<std::string> head_lines;

    // Bytes the entry takes, roughly, for the store's bound.
    std::size_t size() const;
    bool expired(Clock::time_point now) const { return now >= expires_at; }
    // Whole seconds since it was stored (the Age header).
    std::int64_t age_seconds(Clock::time_point now) const;
};

// Sets `answer.head_lines` from its headers, when a replay may write them as text.
void prepare_replay(CachedAnswer& answer);

// The Redis store's value: one JSON line of metadata, then the body as it is.
std::string serialize(const CachedAnswer& answer);
// nullopt when `text` is not what serialize() makes (another version wrote it, say).
std::optional<CachedAnswer> deserialize(std::string_view text);

// Whether an upstream header may be stored with the answer and replayed to others.
bool is_replayable_header(std::string_view lower_name);

}  // namespace llmgw::cache
