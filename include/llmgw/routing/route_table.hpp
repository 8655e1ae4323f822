// Step 3 of the pipeline: picks the first route, in file order, that matches a request.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::routing {

// What the table may ask about a request. The body's model is asked for only
// when a route matches on it, so bodies are parsed only when needed.
class RequestFacts {
public:
    // no_json_body: no body, or one whose content type says it is not JSON (a GET, a
    // multipart upload); body_not_json: a body meant as JSON that does not parse.
    enum class ModelState { present, absent, no_json_body, body_not_json };
    struct Model {
        ModelState state = ModelState::absent;
        std::string_view name;
    };

    virtual ~RequestFacts() = default;
    virtual std::string_view path() const = 0;  // without the query
    virtual std::optional<std::string_view> header(std::string_view lower_name) const = 0;
    virtual Model model() const = 0;
};

struct RouteDecision {
    enum class Outcome { matched, no_match, body_not_json };
    Outcome outcome = Outcome::no_match;
    const config::Route* route = nullptr;
};

class RouteTable {
public:
    explicit RouteTable(const std::vector<config::Route>& routes);

    // A `match.model` route never matches a request without a JSON body: the next route is
    // tried. Only when no route matches and a model route passed over a body that does not
    // parse is the outcome body_not_json (the client sent broken JSON, not a wrong path).
    RouteDecision match(const RequestFacts& request) const;

private:
    const std::vector<config::Route>& routes_;
};

}  // namespace llmgw::routing
