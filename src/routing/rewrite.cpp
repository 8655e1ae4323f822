// Path rewriting for a matched route.
#include "llmgw/routing/rewrite.hpp"

#include <algorithm>

namespace llmgw::routing {

namespace {

// The segment at the start of `rest`: up to the next '/', '?' or the end.
std::size_t segment_length(std::string_view rest) {
    const auto end = rest.find_first_of("/?");
    return end == std::string_view::npos ? rest.size() : end;
}

}  // namespace

std::string_view model_in_path(const config::Route& route, std::string_view path) {
    const auto& prefix = route.match.path_prefix;
    if (path.size() <= prefix.size()) return {};
    const auto rest = path.substr(prefix.size());
    return rest.substr(0, segment_length(rest));
}

std::string rewrite_target(const config::Route& route, std::string_view target) {
    const auto& prefix = route.match.path_prefix;
    const auto rest = target.substr(std::min(prefix.size(), target.size()));
    std::string out = route.rewrite.path_prefix ? *route.rewrite.path_prefix : prefix;
    if (route.match.model_from == config::RouteMatch::ModelFrom::path && route.rewrite.model) {
        out.append(*route.rewrite.model);
        out.append(rest.substr(segment_length(rest)));
        return out;
    }
    if (!route.rewrite.path_prefix) return std::string(target);
    out.append(rest);
    return out;
}

bool rewrites_target(const config::Route& route) {
    return route.rewrite.path_prefix.has_value() ||
           (route.match.model_from == config::RouteMatch::ModelFrom::path && route.rewrite.model);
}

}  // namespace llmgw::routing
