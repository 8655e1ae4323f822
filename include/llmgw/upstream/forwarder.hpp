// Step 6 of the pipeline: sends the request to one of the backend's endpoints and relays
// the answer to the client as it arrives, without buffering it.
#pragma once

#include <optional>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/http/response_writer.hpp"
#include "llmgw/observability/access_record.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/upstream/balancer.hpp"
#include "llmgw/upstream/connection_pool.hpp"

namespace llmgw::upstream {

struct ForwardOutcome {
    // Set when the upstream failed before anything was sent to the client:
    // the caller answers with this error.
    std::optional<http::GatewayError> error;
};

class Forwarder {
public:
    Forwarder(ConnectionPool& pool, observability::Metrics& metrics);

    // `request` is the upstream request, already rewritten; it is sent as it is.
    // Fills record.endpoint, upstream_first_byte, stream and error.
    http::Task<ForwardOutcome> forward(http::Request& request, const config::Backend& backend, Balancer& balancer,
                                       http::ResponseWriter& client, observability::AccessRecord& record);

private:
    ConnectionPool& pool_;
    observability::Metrics& metrics_;
};

}  // namespace llmgw::upstream
