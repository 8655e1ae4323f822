// Step 4 of the pipeline: the request target, body model and header edits a route asks for.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"

namespace llmgw::routing {

// Replaces the route's matched path prefix with rewrite.path_prefix; the query is kept.
std::string rewrite_target(const config::Route& route, std::string_view target);

// Whether a header is to be dropped before forwarding: listed in headers.remove,
// or replaced by headers.set.
bool header_removed_by_route(const config::Route& route, std::string_view lower_name);

}  // namespace llmgw::routing
