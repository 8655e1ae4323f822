// Builds the gateway's own error answers.
#include "llmgw/http/gateway_error.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::http {

std::string error_body(const GatewayError& error) {
    nlohmann::json body = {
        {"error", {{"message", error.message}, {"type", error.type}, {"code", error.code}}}};
    // Replace invalid UTF-8 (e.g. a path echoed back) instead of throwing.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

GatewayError bad_request(std::string message, std::string code) {
    return {400, "invalid_request_error", std::move(code), std::move(message)};
}

GatewayError route_not_found(const std::string& method, const std::string& path) {
    return {404, "invalid_request_error", "route_not_found", "no route for " + method + " " + path};
}

GatewayError request_timeout(std::string message) {
    return {408, "invalid_request_error", "request_timeout", std::move(message)};
}

GatewayError payload_too_large(std::size_t limit) {
    return {413, "invalid_request_error", "body_too_large",
            "request body is larger than the limit of " + std::to_string(limit) + " bytes"};
}

GatewayError headers_too_large(std::size_t limit) {
    return {431, "invalid_request_error", "headers_too_large",
            "request headers are larger than the limit of " + std::to_string(limit) + " bytes"};
}

GatewayError bad_gateway(std::string message, std::string code) {
    return {502, "upstream_error", std::move(code), std::move(message)};
}

GatewayError gateway_timeout(std::string message, std::string code) {
    return {504, "upstream_error", std::move(code), std::move(message)};
}

GatewayError server_busy() {
    return {503, "server_error", "server_busy",
            "the gateway is holding as many request bodies as it may; try again shortly", 1};
}

}  // namespace llmgw::http
