// What the tables of tiers, consumers and jwt share with the rest of the schema.
#pragma once

#include <vector>

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {

// Fails unless `name` is one of `tiers`.
void require_tier(const YamlNode& node, const std::string& name, const std::vector<Tier>& tiers);

// SHA-256 of a key, as stored in ApiKey.
std::array<unsigned char, 32> sha256_of(std::string_view key);

}  // namespace llmgw::config
