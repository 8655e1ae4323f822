// Parsers of the config's value types that are more than a scalar: listen addresses, endpoint
// URLs, path prefixes, header names and maps. Each fails at the node naming what is wrong.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {

// "host:port" or "[v6]:port".
ListenAddress parse_listen(const YamlNode& node);
std::string format_listen(const ListenAddress& address);
// http://host[:port] or https://host[:port], no path.
Endpoint parse_endpoint_url(const YamlNode& node);
// http[s]://host[:port][/path]: the endpoint, and the path in `path` (empty when none).
Endpoint parse_url_with_path(const YamlNode& node, std::string& path);
// Starts with "/", no spaces or control characters.
std::string parse_path_prefix(const YamlNode& node);
// name → value, names valid tokens (lower-cased), values without CR, LF or NUL.
std::vector<std::pair<std::string, std::string>> parse_header_map(const YamlNode& node);
// A header name a route may remove (lower-cased).
std::string parse_removable_header(const YamlNode& node);
// Headers the gateway owns on the upstream request (framing, hop-by-hop, forwarding): a route
// editing them would be silently overridden or would corrupt the message.
bool managed_by_gateway(const std::string& lower_name);

}  // namespace llmgw::config
