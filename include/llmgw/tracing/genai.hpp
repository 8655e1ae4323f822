// The GenAI semantic conventions' request attributes, read from an OpenAI-style request:
// the operation from the path, the model, max_tokens and stream from the body. Never the
// prompt.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "llmgw/tracing/request_trace.hpp"

namespace llmgw::tracing {

// `path` is the upstream path; `body` the parsed JSON body (null when not JSON). An empty
// operation means the request is not a model call (a model list, say).
GenAiRequest genai_request(std::string_view path, const nlohmann::json* body);

}  // namespace llmgw::tracing
