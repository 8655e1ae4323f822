// Strict, unpadded base64url (RFC 4648 §5), the encoding of every part of a JWS and JWK.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmgw::auth {

// Encodes bytes as base64url without '=' padding, as RFC 7515 §2 requires.
std::string base64url_encode(std::string_view bytes);

// Decodes unpadded base64url. Returns nullopt for any character outside [A-Za-z0-9_-]
// (so '=' padding, '+', '/', whitespace and NUL are all refused), for a length no encoding
// has (length % 4 == 1), and when the last character carries non-zero unused bits. Every
// byte string therefore has exactly one accepted spelling, so tokens are not malleable.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace llmgw::auth
