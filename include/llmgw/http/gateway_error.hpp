// Errors the gateway itself answers with, rendered as OpenAI-style JSON so SDKs show them.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace llmgw::http {

struct GatewayError {
    int status = 500;
    std::string type;             // e.g. "invalid_request_error", "upstream_error"
    std::string code;             // machine-readable kind, e.g. "route_not_found"
    std::string message;          // for people; never contains credentials
    int retry_after_seconds = 0;  // > 0 adds Retry-After
    std::vector<std::pair<std::string, std::string>>
        headers{};  // more response headers (rate limits)
};

// {"error":{"message":...,"type":...,"code":...}}
std::string error_body(const GatewayError& error);

// The errors of the design's table, named once so every component uses the same words.
GatewayError bad_request(std::string message, std::string code = "invalid_request");
GatewayError route_not_found(const std::string& method, const std::string& path);
GatewayError request_timeout(std::string message);
GatewayError payload_too_large(std::size_t limit);
GatewayError headers_too_large(std::size_t limit);
GatewayError bad_gateway(std::string message, std::string code = "upstream_unavailable");
GatewayError gateway_timeout(std::string message, std::string code = "upstream_timeout");
// 503: the request bodies held at once would exceed server.max_body_memory.
GatewayError server_busy();

}  // namespace llmgw::http
