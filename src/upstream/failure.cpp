// The one table of upstream failures: metric kind, client error, retry condition.
#include "llmgw/upstream/failure.hpp"

namespace llmgw::upstream {

std::string_view metric_kind(Failure failure) {
    switch (failure) {
        case Failure::connect: return "connect";
        case Failure::connect_timeout: return "connect_timeout";
        case Failure::tls: return "tls";
        case Failure::reset: return "reset";
        case Failure::first_byte_timeout: return "first_byte_timeout";
        case Failure::idle_timeout: return "idle_timeout";
        case Failure::total_timeout: return "total_timeout";
        case Failure::invalid: return "invalid";
        case Failure::client_gone: return "client_closed";
        case Failure::none: break;
    }
    return "none";
}

http::GatewayError client_error(Failure failure) {
    using E = http::ErrorCode;
    switch (failure) {
        case Failure::connect_timeout: return http::make_error(E::upstream_connect_timeout);
        case Failure::tls: return http::make_error(E::upstream_tls_error);
        case Failure::connect: return http::make_error(E::upstream_unavailable);
        case Failure::reset: return http::make_error(E::upstream_reset);
        case Failure::first_byte_timeout:
        case Failure::total_timeout: return http::make_error(E::upstream_timeout);
        case Failure::idle_timeout:
            return http::make_error(E::upstream_timeout, "the upstream stopped sending in time");
        case Failure::invalid:
        case Failure::none:
        case Failure::client_gone: break;
    }
    return http::make_error(E::upstream_invalid);
}

std::optional<config::RetryOn> retry_condition(Failure failure) {
    switch (failure) {
        case Failure::connect:
        case Failure::connect_timeout:
        // A failed handshake (an untrusted certificate included) is a failed connect: the
        // request was never sent, so another endpoint may take it.
        case Failure::tls: return config::RetryOn::connect_failure;
        case Failure::reset: return config::RetryOn::reset;
        case Failure::first_byte_timeout:
        case Failure::total_timeout: return config::RetryOn::timeout;
        default: return std::nullopt;
    }
}

}  // namespace llmgw::upstream
