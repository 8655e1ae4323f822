// Errors the gateway itself answers with, rendered as OpenAI-style JSON so SDKs show them.
// Every kind is an ErrorCode with its status, type, code and default message in one table
// (gateway_error.cpp); docs/configuration.md lists them all (a test checks).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmgw::http {

enum class ErrorCode {
    // 400
    invalid_json,
    malformed_request,
    plain_http_to_https_port,
    invalid_usage_query,
    invalid_config,
    invalid_admin_request,
    unknown_tier,
    invalid_expires_at,
    invalid_cursor,
    // 401 / 403 / 404 / 409
    invalid_api_key,
    invalid_token,
    invalid_admin_token,
    route_not_allowed,
    consumer_disabled,
    route_not_found,
    not_found,
    unknown_cached_route,
    consumer_not_found,
    key_not_found,
    consumer_exists,
    consumer_in_config,
    too_many_keys,
    // 408 / 413 / 431 / 429
    request_timeout,
    body_too_large,
    headers_too_large,
    rate_limit_exceeded,
    quota_exceeded,
    budget_exceeded,
    concurrency_limit,
    // 499: the client left (recorded, never sent)
    client_closed,
    // 5xx
    upstream_unavailable,
    upstream_reset,
    upstream_invalid,
    upstream_tls_error,
    upstream_timeout,
    upstream_connect_timeout,
    no_healthy_endpoint,
    backend_overloaded,
    queue_full,
    queue_timeout,
    limits_unavailable,
    server_busy,
    usage_unavailable,
    cache_unavailable,
    store_unavailable,
};

// One row of the table.
struct ErrorKind {
    ErrorCode code;
    int status;
    std::string_view type;  // OpenAI's error type, e.g. "invalid_request_error"
    std::string_view name;  // the "code" clients see, e.g. "route_not_found"
    std::string_view message;  // the default, for people
    int retry_after_seconds;   // > 0 adds Retry-After
};

const ErrorKind& kind_of(ErrorCode code);
std::span<const ErrorKind> all_error_kinds();

struct GatewayError {
    int status = 500;
    std::string type;             // e.g. "invalid_request_error", "upstream_error"
    std::string code;             // machine-readable kind, e.g. "route_not_found"
    std::string message;          // for people; never contains credentials
    int retry_after_seconds = 0;  // > 0 adds Retry-After
    std::vector<std::pair<std::string, std::string>>
        headers{};  // more response headers (rate limits)
};

// The error of `code`, with `message` instead of the table's when given.
GatewayError make_error(ErrorCode code, std::string message = {});

// {"error":{"message":...,"type":...,"code":...}}
std::string error_body(const GatewayError& error);

// Errors whose message carries a value.
GatewayError route_not_found(const std::string& method, const std::string& path);
GatewayError payload_too_large(std::size_t limit);
GatewayError headers_too_large(std::size_t limit);

}  // namespace llmgw::http
