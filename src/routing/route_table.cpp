// First-match routing on path prefix, exact header values and the request's model.
#include "llmgw/routing/route_table.hpp"

#include "llmgw/routing/rewrite.hpp"

namespace llmgw::routing {

namespace {

bool headers_match(const config::Route& route, const RequestFacts& request) {
    for (const auto& [name, value] : route.match.headers) {
        const auto actual = request.header(name);
        if (!actual || *actual != value) return false;
    }
    return true;
}

}  // namespace

RouteTable::RouteTable(const std::vector<config::Route>& routes) : routes_(routes) {}

RouteDecision RouteTable::match(const RequestFacts& request) const {
    const auto path = request.path();
    bool passed_over_broken_json = false;
    for (const auto& route : routes_) {
        if (path.substr(0, route.match.path_prefix.size()) != route.match.path_prefix) continue;
        if (!headers_match(route, request)) continue;
        if (route.match.model) {
            if (route.match.model_from == config::RouteMatch::ModelFrom::path) {
                if (model_in_path(route, path) != *route.match.model) continue;
            } else {
                const auto model = request.model();
                if (model.state == RequestFacts::ModelState::body_not_json)
                    passed_over_broken_json = true;
                if (model.state != RequestFacts::ModelState::present ||
                    model.name != *route.match.model)
                    continue;
            }
        }
        return {RouteDecision::Outcome::matched, &route};
    }
    if (passed_over_broken_json) return {RouteDecision::Outcome::body_not_json, nullptr};
    return {};
}

}  // namespace llmgw::routing
