// The parts of the schema about the response cache: `cache` and `routes[].cache`.
#pragma once

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {

RouteCache parse_route_cache(const YamlNode& node);
// `redis` is the already parsed section: the redis store needs it.
CacheConfig parse_cache(const YamlNode& node, const std::optional<RedisConfig>& redis);

}  // namespace llmgw::config
