// First-match routing on path prefix, exact header values and the body's model.
#include "llmgw/routing/route_table.hpp"

namespace llmgw::routing {

RouteTable::RouteTable(const std::vector<config::Route>& routes) : routes_(routes) {}

RouteDecision RouteTable::match(const RequestFacts& request) const {
    const auto path = request.path();
    for (const auto& route : routes_) {
        if (path.substr(0, route.match.path_prefix.size()) != route.match.path_prefix) continue;
        bool headers_match = true;
        for (const auto& [name, value] : route.match.headers) {
            const auto actual = request.header(name);
            if (!actual || *actual != value) {
                headers_match = false;
                break;
            }
        }
        if (!headers_match) continue;
        if (route.match.model) {
            const auto model = request.model();
            // A route that selects by model cannot decide on a body that is not JSON:
            // answer 400 rather than silently sending it to a later catch-all route.
            if (model.state == RequestFacts::ModelState::body_not_json)
                return {RouteDecision::Outcome::body_not_json, &route};
            if (model.state != RequestFacts::ModelState::present ||
                model.name != *route.match.model)
                continue;
        }
        return {RouteDecision::Outcome::matched, &route};
    }
    return {};
}

}  // namespace llmgw::routing
