// Parsing of the response cache's settings.
#include "cache_sections.hpp"

namespace llmgw::config {

RouteCache parse_route_cache(const YamlNode& node) {
    node.expect_keys({"ttl", "scope"});
    RouteCache cache;
    if (!node.has("ttl")) node.fail("missing required key \"ttl\"");
    cache.ttl = node["ttl"].as_duration();
    if (cache.ttl < std::chrono::seconds(1)) node["ttl"].fail("must be at least 1s");
    if (node.has("scope")) {
        const auto scope = node["scope"].as_string();
        if (scope == "global")
            cache.scope = RouteCache::Scope::global;
        else if (scope == "consumer")
            cache.scope = RouteCache::Scope::consumer;
        else
            node["scope"].fail("expected global or consumer, got \"" + node["scope"].raw() + "\"");
    }
    return cache;
}

CacheConfig parse_cache(const YamlNode& node, const std::optional<RedisConfig>& redis) {
    node.expect_keys({"max_bytes", "max_entry_bytes", "store", "coalesce_wait"});
    CacheConfig cache;
    if (node.has("max_bytes")) cache.max_bytes = node["max_bytes"].as_size();
    if (node.has("max_entry_bytes")) {
        cache.max_entry_bytes = node["max_entry_bytes"].as_size();
        if (cache.max_entry_bytes == 0) node["max_entry_bytes"].fail("must be more than 0");
    }
    if (cache.max_entry_bytes > cache.max_bytes)
        node[node.has("max_entry_bytes") ? "max_entry_bytes" : "max_bytes"].fail(
            "max_entry_bytes must not be larger than max_bytes");
    if (node.has("store")) {
        const auto store = node["store"].as_string();
        if (store == "memory")
            cache.store = CacheConfig::Store::memory;
        else if (store == "redis")
            cache.store = CacheConfig::Store::redis;
        else
            node["store"].fail("expected memory or redis, got \"" + node["store"].raw() + "\"");
        if (cache.store == CacheConfig::Store::redis && !redis)
            node["store"].fail("the redis store needs the top-level redis section");
    }
    if (node.has("coalesce_wait")) cache.coalesce_wait = node["coalesce_wait"].as_duration();
    return cache;
}

}  // namespace llmgw::config
