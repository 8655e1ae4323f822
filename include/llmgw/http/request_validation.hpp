// Refuses request heads whose framing or fields could be read two ways (RFC 9112 §6, §3.2,
// §5.2): a proxy must never forward a message that the upstream might parse differently.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"

namespace llmgw::http {

// More header fields than this get 431 even when their bytes fit max_header_bytes: each field
// costs a node and a lookup everywhere; real clients send a few dozen (Apache's default is
// the same 100).
inline constexpr std::size_t kMaxHeaderFields = 100;

// A chunk's extensions (the ";name=value" after its size) longer than this get 400. Beast
// bounds neither them nor the line they are on; llmgw ignores them, so they only cost memory.
inline constexpr std::size_t kMaxChunkExtensionBytes = 4096;

// Checks what Beast's parser accepts but a proxy must not: Transfer-Encoding other than a
// single "chunked" (or on HTTP/1.0), Content-Length other than one plain number, a missing
// or repeated Host or one that is not a host[:port], a request target that is neither
// origin-form nor absolute-form (or whose authority is not a host[:port]), line breaks or NUL inside field values, too many fields.
std::optional<GatewayError> validate_request_head(const beast::http::request_header<>& head);

// Number of field lines in a message; grows when a chunked body ends with trailer fields,
// which Beast appends to the head after it was validated.
std::size_t field_count(const beast::http::request_header<>& head);

// An absolute-form target ("http://host/v1/x?q") as origin-form ("/v1/x?q"): routes match paths.
std::string origin_form(std::string_view target);

// The authority of an absolute-form target ("host:8080" of "http://host:8080/v1/x"), which
// replaces Host (RFC 9112 §3.2.2); empty for origin-form. validate_request_head checks it
// like a Host value.
std::string_view target_authority(std::string_view target);

}  // namespace llmgw::http
