// Step 4 of the pipeline: the request target a route asks for.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"

namespace llmgw::routing {

// Replaces the route's matched path prefix with rewrite.path_prefix; the query is kept. For a
// route with `match.model_from: path`, rewrite.model replaces the model's path segment.
std::string rewrite_target(const config::Route& route, std::string_view target);

// Whether rewrite_target changes anything for the route (most routes keep their targets).
bool rewrites_target(const config::Route& route);

// The path segment right after `route`'s match.path_prefix (Triton's
// /v2/models/{model}/generate): empty when there is none.
std::string_view model_in_path(const config::Route& route, std::string_view path);

}  // namespace llmgw::routing
