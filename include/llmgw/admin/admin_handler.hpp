// The admin listener's endpoints: /metrics, /healthz, /readyz, and /admin/* behind the admin token.
#pragma once

#include "llmgw/gateway/gateway.hpp"
#include "llmgw/http/client_session.hpp"

namespace llmgw::admin {

http::RequestHandler make_admin_handler(gateway::Gateway& gateway);

// Compares a presented bearer token with the configured one in constant time.
bool admin_token_matches(std::string_view configured, std::string_view authorization_header);

}  // namespace llmgw::admin
