// The table of every error the gateway answers with.
#include "llmgw/http/gateway_error.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace llmgw::http {

namespace {

constexpr std::string_view invalid = "invalid_request_error";
constexpr std::string_view upstream = "upstream_error";

using E = ErrorCode;
constexpr std::array kinds{
    ErrorKind{E::invalid_json, 400, invalid, "invalid_json",
              "the request body must be a JSON object with a \"model\" field", 0},
    ErrorKind{E::malformed_request, 400, invalid, "malformed_request", "malformed HTTP request", 0},
    ErrorKind{E::plain_http_to_https_port, 400, invalid, "plain_http_to_https_port",
              "this port speaks HTTPS; a plain HTTP request was sent", 0},
    ErrorKind{E::invalid_usage_query, 400, invalid, "invalid_usage_query",
              "use /admin/usage?consumer=NAME&from=YYYY-MM-DD&to=YYYY-MM-DD", 0},
    ErrorKind{E::invalid_config, 400, invalid, "invalid_config",
              "reload refused, the running configuration stays", 0},
    ErrorKind{E::invalid_admin_request, 400, invalid, "invalid_admin_request",
              "the body must be a JSON object with the documented fields", 0},
    ErrorKind{E::unknown_tier, 400, invalid, "unknown_tier", "no tier of that name is configured",
              0},
    ErrorKind{E::invalid_expires_at, 400, invalid, "invalid_expires_at",
              "expires_at must be an RFC 3339 UTC time in the future (2026-12-31T00:00:00Z)", 0},
    ErrorKind{E::invalid_cursor, 400, invalid, "invalid_cursor",
              "the cursor is not one a previous page returned", 0},
    ErrorKind{E::invalid_api_key, 401, invalid, "invalid_api_key", "the API key is not valid", 0},
    ErrorKind{E::invalid_token, 401, invalid, "invalid_token", "the token is not valid", 0},
    ErrorKind{E::invalid_admin_token, 401, invalid, "invalid_admin_token",
              "the admin endpoints need the admin token as a Bearer credential", 0},
    ErrorKind{E::route_not_allowed, 403, "permission_error", "route_not_allowed",
              "this consumer may not use this route", 0},
    ErrorKind{E::consumer_disabled, 403, "permission_error", "consumer_disabled",
              "this consumer is disabled", 0},
    ErrorKind{E::route_not_found, 404, invalid, "route_not_found", "no route matches", 0},
    ErrorKind{E::not_found, 404, invalid, "not_found",
              "the admin listener serves /metrics, /healthz, /readyz, /admin/backends, "
              "/admin/usage, /admin/config, POST /admin/reload and DELETE /admin/cache",
              0},
    ErrorKind{E::unknown_cached_route, 404, invalid, "unknown_cached_route",
              "no route with a cache has that name", 0},
    ErrorKind{E::consumer_not_found, 404, invalid, "consumer_not_found",
              "no consumer has that name", 0},
    ErrorKind{E::key_not_found, 404, invalid, "key_not_found", "the consumer has no key with that id",
              0},
    ErrorKind{E::consumer_exists, 409, invalid, "consumer_exists",
              "a consumer of that name exists (in the store or the config file)", 0},
    ErrorKind{E::consumer_in_config, 409, invalid, "consumer_in_config",
              "this consumer comes from the config file and cannot be changed through the API", 0},
    ErrorKind{E::too_many_keys, 409, invalid, "too_many_keys",
              "the consumer has as many live keys as self_service.max_keys_per_consumer", 0},
    ErrorKind{E::request_timeout, 408, invalid, "request_timeout",
              "the request did not arrive in time", 0},
    ErrorKind{E::body_too_large, 413, invalid, "body_too_large",
              "request body is larger than the limit", 0},
    ErrorKind{E::headers_too_large, 431, invalid, "headers_too_large",
              "request headers are larger than the limit", 0},
    ErrorKind{E::rate_limit_exceeded, 429, "rate_limit_error", "rate_limit_exceeded",
              "rate limit exceeded", 0},
    ErrorKind{E::quota_exceeded, 429, "rate_limit_error", "quota_exceeded", "quota exceeded", 0},
    ErrorKind{E::budget_exceeded, 429, "rate_limit_error", "budget_exceeded",
              "money budget exceeded", 0},
    ErrorKind{E::concurrency_limit, 429, "rate_limit_error", "concurrency_limit",
              "the consumer has as many requests in flight as its tier allows", 1},
    ErrorKind{E::client_closed, 499, invalid, "client_closed", "the client closed the connection",
              0},
    ErrorKind{E::upstream_unavailable, 502, upstream, "upstream_unavailable",
              "could not connect to the upstream", 0},
    ErrorKind{E::upstream_reset, 502, upstream, "upstream_reset",
              "the upstream closed the connection", 0},
    ErrorKind{E::upstream_invalid, 502, upstream, "upstream_invalid",
              "the upstream sent an invalid response", 0},
    ErrorKind{E::upstream_tls_error, 502, upstream, "upstream_tls_error",
              "the TLS handshake with the upstream failed", 0},
    ErrorKind{E::upstream_timeout, 504, upstream, "upstream_timeout",
              "the upstream did not answer in time", 0},
    ErrorKind{E::upstream_connect_timeout, 504, upstream, "upstream_connect_timeout",
              "timed out connecting to the upstream", 0},
    ErrorKind{E::no_healthy_endpoint, 503, upstream, "no_healthy_endpoint",
              "no endpoint of the backend is available", 1},
    ErrorKind{E::backend_overloaded, 503, upstream, "backend_overloaded",
              "the backend has too many requests in flight", 1},
    ErrorKind{E::queue_full, 503, upstream, "queue_full",
              "the backend is at capacity and its queue is full", 1},
    ErrorKind{E::queue_timeout, 503, upstream, "queue_timeout",
              "the backend stayed at capacity for as long as the queue waits", 1},
    ErrorKind{E::limits_unavailable, 503, "rate_limit_error", "limits_unavailable",
              "the rate-limit store is unavailable; try again shortly", 1},
    ErrorKind{E::server_busy, 503, "server_error", "server_busy",
              "the gateway is holding as many request bodies as it may; try again shortly", 1},
    ErrorKind{E::usage_unavailable, 503, "api_error", "usage_unavailable", "Redis did not answer",
              1},
    ErrorKind{E::cache_unavailable, 503, "api_error", "cache_unavailable",
              "the cache store did not answer", 1},
    ErrorKind{E::store_unavailable, 503, "api_error", "store_unavailable",
              "the consumer and usage database did not answer; try again shortly", 1},
};

constexpr bool in_enum_order() {
    for (std::size_t i = 0; i < kinds.size(); ++i)
        if (static_cast<std::size_t>(kinds[i].code) != i) return false;
    return true;
}
static_assert(in_enum_order(), "one row per ErrorCode, in the enum's order");

}  // namespace

const ErrorKind& kind_of(ErrorCode code) {
    return kinds[static_cast<std::size_t>(code)];
}

std::span<const ErrorKind> all_error_kinds() {
    return kinds;
}

GatewayError make_error(ErrorCode code, std::string message) {
    const auto& kind = kind_of(code);
    return {kind.status, std::string(kind.type), std::string(kind.name),
            message.empty() ? std::string(kind.message) : std::move(message),
            kind.retry_after_seconds};
}

std::string error_body(const GatewayError& error) {
    nlohmann::json body = {
        {"error", {{"message", error.message}, {"type", error.type}, {"code", error.code}}}};
    // Replace invalid UTF-8 (e.g. a path echoed back) instead of throwing.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

GatewayError route_not_found(const std::string& method, const std::string& path) {
    return make_error(ErrorCode::route_not_found, "no route for " + method + " " + path);
}

GatewayError payload_too_large(std::size_t limit) {
    return make_error(ErrorCode::body_too_large, "request body is larger than the limit of " +
                                                     std::to_string(limit) + " bytes");
}

GatewayError headers_too_large(std::size_t limit) {
    return make_error(ErrorCode::headers_too_large, "request headers are larger than the limit of " +
                                                        std::to_string(limit) + " bytes");
}

}  // namespace llmgw::http
