// Refuses request heads whose framing or fields could be read two ways (RFC 9112 §6, §3.2,
// §5.2): a proxy must never forward a message that the upstream might parse differently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"

namespace llmgw::http {

// Checks what Beast's parser accepts but a proxy must not: Transfer-Encoding other than a
// single "chunked" (or on HTTP/1.0), a missing or repeated Host, a request target that is
// neither origin-form nor absolute-form, and line breaks or NUL inside field values.
std::optional<GatewayError> validate_request_head(const beast::http::request_header<>& head);

// An absolute-form target ("http://host/v1/x?q") as origin-form ("/v1/x?q"): routes match paths.
std::string origin_form(std::string_view target);

}  // namespace llmgw::http
