// The GenAI semantic conventions' request attributes, read from an OpenAI-style request:
// the operation from the path, the model, max_tokens and stream from the body. Never the
// prompt.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>

#include "llmgw/tracing/request_trace.hpp"

namespace llmgw::tracing {

// `path` is the upstream path; `body` the parsed JSON body (null when not JSON). An empty
// operation means the request is not a model call (a model list, say).
GenAiRequest genai_request(std::string_view path, const nlohmann::json* body);

// The same read from the body's text (its top-level keys, no JSON parse): nullopt when the
// text is anything but a plain object whose values of interest have no escapes (then
// genai_request on the parsed body decides, as before).
std::optional<GenAiRequest> scan_genai_request(std::string_view path, std::string_view body);

// gen_ai.operation.name's well-known value for an OpenAI endpoint's path (a query ignored);
// empty for a path that is not a model call.
std::string_view genai_operation(std::string_view path);

}  // namespace llmgw::tracing
