// Step 4 of the pipeline: the request target a route asks for.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"

namespace llmgw::routing {

// Replaces the route's matched path prefix with rewrite.path_prefix; the query is kept.
std::string rewrite_target(const config::Route& route, std::string_view target);

}  // namespace llmgw::routing
