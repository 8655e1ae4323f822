// The parts of the schema that identify callers: tiers, consumers (API keys) and JWT issuers.
#pragma once

#include <vector>

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {

std::vector<Tier> parse_tiers(const YamlNode& node);
// `routes` and `tiers` are the already parsed sections, for cross-references.
std::vector<Consumer> parse_consumers(const YamlNode& node, const std::vector<Tier>& tiers,
                                      const std::vector<Route>& routes);
std::vector<JwtIssuer> parse_jwt(const YamlNode& node, const std::vector<Tier>& tiers);

// Fails unless `name` is one of `tiers`.
void require_tier(const YamlNode& node, const std::string& name, const std::vector<Tier>& tiers);

// SHA-256 of a key, as stored in ApiKey.
std::array<unsigned char, 32> sha256_of(std::string_view key);

}  // namespace llmgw::config
