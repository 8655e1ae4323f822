// The union of the models a consumer's routes reach, from the config and the backends' lists.
#include "llmgw/gateway/model_list.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace llmgw::gateway {

bool answers_model_list(const config::Route& route, std::string_view method,
                        std::string_view path) {
    if (route.models != config::Route::Models::gateway) return false;
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    return method == "GET" && path.ends_with("/models");
}

namespace {

// A model named by a route: the fields OpenAI's model object has.
nlohmann::json route_model(const std::string& id) {
    return {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "llmgw"}};
}

}  // namespace

std::string model_list_body(const Snapshot& snapshot, const auth::Identity& identity) {
    nlohmann::json data = nlohmann::json::array();
    std::set<std::string, std::less<>> seen;
    const auto add = [&](const std::string& id, nlohmann::json entry) {
        if (seen.insert(id).second) data.push_back(std::move(entry));
    };
    for (const auto& route : snapshot.config().routes) {
        if (auth::authorize(identity, route)) continue;  // not this consumer's route
        if (route.match.model) {
            add(*route.match.model, route_model(*route.match.model));
            continue;
        }
        const auto listed = snapshot.backend(route.backend).models.models();
        if (!listed) continue;
        for (const auto& entry : *listed) add(entry["id"].get<std::string>(), entry);
    }
    return nlohmann::json{{"object", "list"}, {"data", std::move(data)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace llmgw::gateway
