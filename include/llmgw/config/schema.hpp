// What the configuration's schema tables tell the rest of the gateway: which fields need a
// restart to change, and every field's path (for the docs check).
#pragma once

#include <string>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::config {

// The fields a reload cannot change whose value differs, named as in the file
// ("server.listen", "cache"); empty when `loaded` can be applied in full.
std::vector<std::string> restart_required(const Config& running, const Config& loaded);

// Every field the file accepts, as a dotted path: "server.tls.cert_file",
// "backends.<name>.endpoints[].url", "routes[].match.path_prefix".
std::vector<std::string> field_paths();

}  // namespace llmgw::config
