// The message a config mistake produces, for tests of the loader's errors.
#pragma once

#include <string>

#include "llmgw/config/loader.hpp"

namespace llmgw::config::testing {

// The ConfigError message loading `yaml` (named "t.yaml") throws, or "" when it loads.
inline std::string load_error(const std::string& yaml, const std::string& name = "t.yaml") {
    try {
        load_string(yaml, name);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace llmgw::config::testing
