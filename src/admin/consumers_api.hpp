// The admin API's consumers and keys (/admin/consumers...) and audit log (/admin/audit),
// served from the store; the request path never waits on any of it.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/gateway/gateway.hpp"
#include "llmgw/http/client_session.hpp"

namespace llmgw::admin {

// Whether `path` is one of these calls (they read a JSON body).
bool is_consumers_call(std::string_view path);

// `actor` names the admin token that made the call (its fingerprint), for the audit log.
http::Task<void> serve_consumers(gateway::Gateway& gateway, http::Request& request,
                                 std::string_view target, http::RequestBody& body,
                                 http::ResponseWriter& writer, const std::string& actor);

// "admin:" and the first 12 hex digits of the token's SHA-256 ("admin:open" without one).
std::string admin_actor(std::string_view token);

}  // namespace llmgw::admin
