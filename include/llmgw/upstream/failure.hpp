// How an attempt at an upstream failed, and what each failure means: its metric kind, the
// error the client gets, and which `retries.on` condition it is.
#pragma once

#include <optional>
#include <string_view>

#include "llmgw/config/config.hpp"
#include "llmgw/http/gateway_error.hpp"

namespace llmgw::upstream {

enum class Failure {
    none,
    connect,             // refused or unreachable
    connect_timeout,
    tls,                 // the handshake failed (certificate verification included)
    reset,               // the connection closed or broke before the whole answer
    first_byte_timeout,  // no answer head in time
    idle_timeout,        // the answer stopped between pieces
    total_timeout,
    invalid,             // not HTTP, or a status outside 200-599
    client_gone,         // the client left: nothing to retry, nobody to answer
};

// The label of llmgw_upstream_errors_total{kind}.
std::string_view metric_kind(Failure failure);
// The error the client gets when this failure ends the request before any byte reached it.
http::GatewayError client_error(Failure failure);
// The `retries.on` condition this failure is, if any.
std::optional<config::RetryOn> retry_condition(Failure failure);

}  // namespace llmgw::upstream
