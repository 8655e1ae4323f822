// The running configuration as JSON for GET /admin/config, with every secret redacted.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "llmgw/config/config.hpp"

namespace llmgw::config {

// Secrets (admin token, Redis password, JWT HMAC secrets) appear as "<redacted>" when set;
// API keys appear only as their count. Durations are written with a unit ("30s", "250ms").
nlohmann::json to_redacted_json(const Config& config);

}  // namespace llmgw::config
