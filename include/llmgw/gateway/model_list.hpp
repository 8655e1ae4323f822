// The gateway's own answer to GET .../models on a route with `models: gateway`: the models a
// consumer may reach, in OpenAI's list format.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/auth/authenticator.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/gateway/snapshot.hpp"

namespace llmgw::gateway {

// Whether the gateway answers this request itself: a GET whose path ends in
// "/models", on a route with `models: gateway`.
bool answers_model_list(const config::Route& route, std::string_view method, std::string_view path);

// {"object":"list","data":[...]}: for each route `identity` may use (its allow-list and the
// route's tiers), in file order, the route's match.model, or, for a route without one, the
// models its backend's endpoints list (as last fetched in the background). Each id once.
std::string model_list_body(const Snapshot& snapshot, const auth::Identity& identity);

}  // namespace llmgw::gateway
