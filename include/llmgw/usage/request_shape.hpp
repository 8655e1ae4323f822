// What an OpenAI-compatible (or Triton, or Anthropic Messages) endpoint is, told from its path,
// and what that means for tokens: which request field caps the output, whether a stream can
// be asked for its usage, and how an answer that reports no usage is estimated. The one place
// that knows each endpoint's shape; admission (reservations) and settling both ask it.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>

#include "llmgw/usage/usage_scanner.hpp"

namespace llmgw::usage {

enum class EndpointShape {
    chat_completions,  // /v1/chat/completions
    completions,       // /v1/completions
    embeddings,        // /v1/embeddings
    responses,         // /v1/responses
    messages,          // Anthropic Messages, /v1/messages
    transcriptions,    // /v1/audio/transcriptions and /v1/audio/translations
    rerank,            // /rerank, /v1/rerank, /v2/rerank
    score,             // /score, /v1/score
    tokenize,          // /tokenize, /detokenize: no model run, no tokens
    triton_generate,   // Triton's /v2/models/{model}/generate[_stream]
    other,             // a model list, a health probe, ...: no tokens
};

// The shape of the endpoint at `path` (the path sent upstream, without the query).
EndpointShape shape_of(std::string_view path);

// Whether answers of this endpoint cost model tokens (and are estimated when they report none).
bool is_model_call(EndpointShape shape);

// Whether the endpoint's answers are generated text (embeddings, rerank and score answer
// vectors or scores: their requests reserve no completion tokens).
bool produces_text(EndpointShape shape);

// Whether the endpoint honours stream_options.include_usage (chat/completions, completions):
// the gateway may ask for it on a client's behalf only there.
bool supports_stream_usage(EndpointShape shape);

// The most output tokens the request allows, as its endpoint reads it: chat
// `max_completion_tokens` (else `max_tokens`), completions and messages `max_tokens`, responses
// `max_output_tokens`, Triton `max_tokens` (top level or under `parameters`). 0 for endpoints
// that generate nothing (embeddings, rerank, score, tokenize); nullopt when the request sets
// no cap (a reservation then uses limits.completion_tokens_estimate).
std::optional<std::uint64_t> max_output_tokens(EndpointShape shape, const nlohmann::json& body);

// Whether the request asks for a streamed answer: "stream": true, or Triton's generate_stream.
bool asks_for_stream(EndpointShape shape, std::string_view path, const nlohmann::json* body);
// The same read from the body's text, without a parse: nullopt when the text is not one JSON
// object that the plain reader (usage/plain_json.hpp) reads as nlohmann::json does.
std::optional<bool> text_asks_for_stream(EndpointShape shape, std::string_view path,
                                         std::string_view body_text);

// A best guess for an answer that reported no usage, at about four bytes a token: the
// prompt from the request body (0 for audio uploads), the output from the answer (0 where
// the answer is vectors or scores, not text). Zero for endpoints that are no model call.
TokenUsage estimate_usage(EndpointShape shape, std::uint64_t request_bytes,
                          std::uint64_t answer_bytes);

}  // namespace llmgw::usage
