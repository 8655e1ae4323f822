// Which headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llmgw::http {

// The elements of a comma-separated header value (RFC 9110 §5.6.1), trimmed and lower-cased;
// empty elements dropped. For Connection: the names of the headers it lists.
std::vector<std::string> list_tokens(std::string_view value);
inline std::vector<std::string> connection_tokens(std::string_view connection_value) {
    return list_tokens(connection_value);
}

// ASCII lower case (header names, directive names).
std::string to_lower(std::string_view text);

// True for the fixed hop-by-hop set (Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization),
// compared case-insensitively.
bool is_hop_by_hop(std::string_view name);

// Headers the gateway sets itself on the upstream request; a client cannot
// make the gateway drop or replace them through the Connection header.
bool is_set_by_gateway(std::string_view name);

bool iequals(std::string_view a, std::string_view b);

}  // namespace llmgw::http
