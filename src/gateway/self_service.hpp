// Self-service on the client listener (self_service.enabled): a consumer of the store reads
// /gateway/me and creates or revokes its own keys with one of its keys; nobody else's.
#pragma once

#include <string_view>

#include "llmgw/gateway/request_context.hpp"
#include "llmgw/http/client_session.hpp"
#include "llmgw/limits/admission.hpp"
#include "llmgw/store/catalog.hpp"

namespace llmgw::gateway {

bool is_self_service_path(std::string_view path);

// Answers the call; the request was authenticated already. `admission` tells /gateway/me
// what is left of each limit.
http::Task<void> serve_self_service(RequestContext& context, http::RequestBody& body,
                                    http::ClientWriter& client, store::Catalog& catalog,
                                    limits::Admission& admission);

}  // namespace llmgw::gateway
