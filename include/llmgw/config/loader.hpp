// Reads the YAML configuration file into a validated Config, or says exactly what is wrong.
#pragma once

#include <stdexcept>
#include <string>

#include "llmgw/config/config.hpp"

namespace llmgw::config {

// A configuration mistake: the message names the file, line and dotted key,
// e.g. "llmgw.yaml:12: server.max_body_bytes: invalid size \"8MB\"".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Config load_file(const std::string& path);
// `source_name` is used in messages in place of a file path.
Config load_string(const std::string& yaml, const std::string& source_name = "<config>");

}  // namespace llmgw::config
