// A GET the gateway makes on its own behalf (health checks, model lists): one request on a
// fresh connection to one endpoint, bounded by a timeout, off any client's path.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::tls {
class ClientContext;
}

namespace llmgw::upstream {

struct BackgroundAnswer {
    unsigned status = 0;
    std::string body;  // empty unless asked for (`body_limit` > 0)
};

// nullopt when the endpoint could not be reached or answered nothing readable in time. The
// request carries `edits` (a route's headers.set, e.g. an upstream API key).
http::Task<std::optional<BackgroundAnswer>> background_get(
    const config::Endpoint& endpoint, tls::ClientContext* tls, const std::string& path,
    std::chrono::milliseconds timeout, std::size_t body_limit,
    const config::HeaderEdits* edits = nullptr);

}  // namespace llmgw::upstream
