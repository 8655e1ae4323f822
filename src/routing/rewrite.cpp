// Path rewriting for a matched route.
#include "llmgw/routing/rewrite.hpp"

#include <algorithm>

namespace llmgw::routing {

std::string rewrite_target(const config::Route& route, std::string_view target) {
    if (!route.rewrite.path_prefix) return std::string(target);
    const auto& prefix = route.match.path_prefix;
    std::string out = *route.rewrite.path_prefix;
    out.append(target.substr(std::min(prefix.size(), target.size())));
    return out;
}

}  // namespace llmgw::routing
