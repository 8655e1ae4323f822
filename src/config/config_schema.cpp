// The root table: the file's top-level sections in the order they are read (later sections
// refer to earlier ones: routes to backends and tiers, consumers to routes, cache to redis).
#include <algorithm>
#include <thread>

#include "llmgw/config/config_json.hpp"
#include "llmgw/config/schema.hpp"
#include "sections.hpp"

namespace llmgw::config {

namespace schema {

namespace {
// Resolved even when the file has no server section: 0 workers means one per core.
void check_root(const YamlNode& node, Config& config, const Config&) {
    auto& workers = config.server.workers;
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    check_fallbacks(node["backends"], config);
    // Self-service keys live in the store: there is nowhere to keep them without one.
    if (config.self_service.enabled && !config.store)
        node["self_service"]["enabled"].fail("self-service needs a store (store.url)");
}
}  // namespace

const Section<Config>& root_section() {
    using S = Config;
    static const Section<S> section{
        {nested("server", &S::server, server_section()),
         nested("admin", &S::admin, admin_section()),
         nested("logging", &S::logging, logging_section()), tiers_field(),
         nested("limits", &S::limits, limits_section()), prices_field(),
         map_of("backends", &S::backends, &Backend::name, backend_section(), "backend").required(),
         list_of("routes", &S::routes, route_section(), "route").required(),
         optional_nested("redis", &S::redis, redis_section()).restart(),
         nested("cache", &S::cache, cache_section()).restart(),
         list_of("consumers", &S::consumers, consumer_section(), ""),
         list_of("jwt", &S::jwt, jwt_section(), ""),
         optional_nested("tracing", &S::tracing, tracing_section()),
         optional_nested("store", &S::store, store_section()).restart(),
         nested("self_service", &S::self_service, self_service_section())},
        check_root};
    return section;
}

}  // namespace schema

std::vector<std::string> restart_required(const Config& running, const Config& loaded) {
    std::vector<std::string> changed;
    schema::restart_changes(schema::root_section(), running, loaded, "", changed);
    return changed;
}

std::vector<std::string> field_paths() {
    std::vector<std::string> paths;
    schema::field_paths(schema::root_section(), "", paths);
    return paths;
}

nlohmann::json to_redacted_json(const Config& config) {
    return schema::show_section(schema::root_section(), config, config);
}

}  // namespace llmgw::config
