// Which headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llmgw::http {

// Lower-cased names of the headers a Connection header value lists.
std::vector<std::string> connection_tokens(std::string_view connection_value);

// True for the fixed hop-by-hop set (Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization),
// compared case-insensitively.
bool is_hop_by_hop(std::string_view name);

// Headers the gateway sets itself on the upstream request; a client cannot
// make the gateway drop or replace them through the Connection header.
bool is_set_by_gateway(std::string_view name);

bool iequals(std::string_view a, std::string_view b);

}  // namespace llmgw::http
