// The request side of a reservation: how many tokens a request may use, read from its body
// before it is sent (a prompt estimate plus the most it may generate), and what that costs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "llmgw/config/config.hpp"
#include "llmgw/limits/reservation.hpp"
#include "llmgw/usage/request_shape.hpp"

namespace llmgw::limits {

struct RequestEstimate {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;  // the request's max output (× n), or the default
    std::uint64_t total() const { return prompt_tokens + completion_tokens; }
};

// Bytes of prompt text per estimated token: OpenAI's rule of thumb for English (~4 characters
// a token); see docs/rate-limits.md for its error.
inline constexpr std::uint64_t prompt_bytes_per_token = 4;
// Added per chat message for its role and separators, as chat templates do.
inline constexpr std::uint64_t tokens_per_message = 4;

// `body`: the parsed JSON body (null when it is not JSON); `body_bytes` its size; `shape` the
// endpoint (embeddings, rerank and score generate nothing). The completion is the output cap
// the endpoint reads (usage::max_output_tokens: max_completion_tokens or max_tokens for chat,
// max_output_tokens for responses, ...) times `n`, else `default_completion`.
RequestEstimate estimate_request(const nlohmann::json* body, std::uint64_t body_bytes,
                                 usage::EndpointShape shape, std::uint64_t default_completion);

// The same estimate read from the body's text, without parsing it into a tree (which costs a
// request more than all the limits do). Nullopt when the text leaves the plain subset this
// reader is sure about (non-ASCII text, \u escapes, escaped keys, exponents, integers of 19
// digits or more, a repeated key that counts, deep nesting): then parse and call
// estimate_request. A test compares the two on many bodies.
std::optional<RequestEstimate> estimate_request_text(std::string_view body,
                                                     usage::EndpointShape shape,
                                                     std::uint64_t default_completion);

// The prompt tokens of a body: the UTF-8 bytes of its prompt text (messages' content, prompt,
// input) divided by prompt_bytes_per_token, rounded up, plus tokens_per_message per message.
std::uint64_t estimate_prompt_tokens(const nlohmann::json& body);

// What `prompt` and `completion` tokens cost at `price` (per million), in nano-units, rounded up.
std::uint64_t cost_of(const config::Price& price, std::uint64_t prompt, std::uint64_t completion);

}  // namespace llmgw::limits
