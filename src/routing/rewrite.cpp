// Path and header rewriting for a matched route.
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

bool header_removed_by_route(const config::Route& route, std::string_view lower_name) {
    const auto& edits = route.headers;
    return std::any_of(edits.remove.begin(), edits.remove.end(), [&](const std::string& n) { return n == lower_name; }) ||
           std::any_of(edits.set.begin(), edits.set.end(), [&](const auto& h) { return h.first == lower_name; });
}

}  // namespace llmgw::routing
