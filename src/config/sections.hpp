// The schema's tables, one per section of the file; config_schema.cpp holds the root table.
#pragma once

#include "schema.hpp"

namespace llmgw::config::schema {

const Section<ServerConfig>& server_section();
const Section<ServerTls>& server_tls_section();
const Section<AdminConfig>& admin_section();
const Section<LoggingConfig>& logging_section();
const Section<RedisConfig>& redis_section();
const Section<Backend>& backend_section();
void check_fallbacks(const YamlNode& backends_node, const Config& config);
const Section<BackendTls>& backend_tls_section();
const Section<RedisTls>& redis_tls_section();
const Section<Route>& route_section();
const Section<RouteCache>& route_cache_section();
const Section<CacheConfig>& cache_section();
const Section<Consumer>& consumer_section();
const Section<JwtIssuer>& jwt_section();
const Section<TracingConfig>& tracing_section();
const Section<StoreConfig>& store_section();
const Section<SelfServiceConfig>& self_service_section();
// tiers.<name>: the rate and quota keys, each a limit of its own.
Field<Config> tiers_field();
const Section<LimitsConfig>& limits_section();
// prices.<model>: per million tokens.
Field<Config> prices_field();

const Section<Config>& root_section();

}  // namespace llmgw::config::schema
