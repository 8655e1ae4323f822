// The TLS parts of the schema: server.tls and backends.<name>.tls. The files they name are
// read and parsed here once, so a bad certificate fails at start (and in --check) with file:line.
#pragma once

#include <string>

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {

ServerTls parse_server_tls(const YamlNode& node);
BackendTls parse_backend_tls(const YamlNode& node);

}  // namespace llmgw::config
