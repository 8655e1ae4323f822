// The bodies the fake model server answers with: vLLM/OpenAI JSON, SSE events, Prometheus text,
// the echo object. Pure functions of their inputs: no sockets, no Beast.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fake_model {

enum class CompletionKind { chat, text };  // /v1/chat/completions or /v1/completions

// What a completion request asks for, read from its JSON body.
struct CompletionRequest {
    std::string model_json;  // the body's "model" re-encoded as JSON; empty when absent or null
    bool stream = false;
    bool include_usage = false;  // "stream_options": {"include_usage": true}
};

// Returns nothing when the body is not a JSON object.
std::optional<CompletionRequest> parse_completion_request(std::string_view body);

// Everything a completion answer (whole or streamed) is made of.
struct CompletionShape {
    CompletionKind kind = CompletionKind::chat;
    std::string id;
    std::int64_t created = 0;
    std::string model_json;
    int words = 0;  // "tok0 tok1 ...": the completion tokens
    std::uint64_t prompt_tokens = 0;
};

std::string completion_body(const CompletionShape& shape);

// Server-sent events of a streamed completion, each "data: ...\n\n".
std::string stream_word_event(const CompletionShape& shape, int word);
std::string stream_stop_event(const CompletionShape& shape);
std::string stream_usage_event(const CompletionShape& shape);
inline constexpr std::string_view stream_done_event = "data: [DONE]\n\n";

// {"error":{"message":...,"type":...,"code":null}}
std::string error_body(std::string_view message, std::string_view type);

std::string models_body(std::string_view model, std::int64_t created);

// The numbers /metrics reports, read once per scrape.
struct MetricsSnapshot {
    std::uint64_t running = 0;
    std::uint64_t prompt_tokens = 0;
    std::uint64_t generation_tokens = 0;
    std::uint64_t succeeded = 0;
};

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";
std::string metrics_text(const MetricsSnapshot& metrics, std::string_view model);

// A request as x-fake-echo and /fake/stats show it.
struct EchoSource {
    std::string_view method;
    std::string_view target;
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // as received, in order
    std::string_view body;
};

inline constexpr std::size_t echo_body_limit = 64 * 1024;  // /fake/stats omits larger bodies

nlohmann::json echo_object(const EchoSource& request, bool with_body);

// Serializes without throwing on invalid UTF-8 (request bodies may hold anything).
std::string dump_json(const nlohmann::json& value);

std::string sha256_hex(std::string_view data);

}  // namespace fake_model
