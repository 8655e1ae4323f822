// Which headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmgw/headers/header_names.hpp"

namespace llmgw::http {

// The elements of a comma-separated header value (RFC 9110 §5.6.1), trimmed and lower-cased;
// empty elements dropped. For Connection: the names of the headers it lists.
std::vector<std::string> list_tokens(std::string_view value);
inline std::vector<std::string> connection_tokens(std::string_view connection_value) {
    return list_tokens(connection_value);
}

// The name lists live in headers/ (the config reads them too); http's callers keep these names.
using headers::iequals;
using headers::is_hop_by_hop;
using headers::is_set_by_gateway;
using headers::to_lower;

}  // namespace llmgw::http
