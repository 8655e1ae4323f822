// Config → JSON, field names as in the YAML file, secrets never included.
#include "llmgw/config/config_json.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::config {

namespace {

using nlohmann::json;

constexpr const char* redacted = "<redacted>";

json secret(const std::string& value) { return value.empty() ? json() : json(redacted); }

std::string duration(Duration d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string listen(const ListenAddress& address) {
    return address.host + ":" + std::to_string(address.port);
}

json cidrs(const std::vector<Cidr>& networks) {
    json out = json::array();
    for (const auto& network : networks) out.push_back(network.text);
    return out;
}

json headers(const std::vector<std::pair<std::string, std::string>>& pairs) {
    json out = json::object();
    for (const auto& [name, value] : pairs) out[name] = value;
    return out;
}

json backend_json(const Backend& backend) {
    static constexpr const char* balancers[] = {"round_robin", "weighted", "least_request"};
    json endpoints = json::array();
    for (const auto& endpoint : backend.endpoints)
        endpoints.push_back({{"url", endpoint.url}, {"weight", endpoint.weight}});
    json retry_on = json::array();
    for (const auto& [kind, name] :
         {std::pair{RetryOn::connect_failure, "connect_failure"}, std::pair{RetryOn::reset, "reset"},
          std::pair{RetryOn::status_502, "502"}, std::pair{RetryOn::status_503, "503"},
          std::pair{RetryOn::timeout, "timeout"}})
        if (backend.retries.allows(kind)) retry_on.push_back(name);
    const auto& breaker = backend.circuit_breaker;
    const auto& timeouts = backend.timeouts;
    json out = {
        {"endpoints", std::move(endpoints)},
        {"balancer", balancers[static_cast<int>(backend.balancer)]},
        {"circuit_breaker",
         {{"failure_threshold", breaker.failure_threshold},
          {"open_for", duration(breaker.open_for)},
          {"half_open_requests", breaker.half_open_requests},
          {"max_concurrent", breaker.max_concurrent}}},
        {"timeouts",
         {{"connect", duration(timeouts.connect)},
          {"first_byte", duration(timeouts.first_byte)},
          {"idle", duration(timeouts.idle)},
          {"total", duration(timeouts.total)}}},
        {"retries", {{"attempts", backend.retries.attempts}, {"on", std::move(retry_on)}}},
        {"keepalive",
         {{"idle", duration(backend.keepalive.idle)}, {"max_idle", backend.keepalive.max_idle}}}};
    if (backend.health_check) {
        const auto& check = *backend.health_check;
        out["health_check"] = {{"path", check.path},
                               {"interval", duration(check.interval)},
                               {"timeout", duration(check.timeout)},
                               {"unhealthy_after", check.unhealthy_after},
                               {"healthy_after", check.healthy_after}};
    }
    return out;
}

json route_json(const Route& route, const Config& config) {
    json match = {{"path_prefix", route.match.path_prefix}};
    if (!route.match.headers.empty()) match["headers"] = headers(route.match.headers);
    if (route.match.model) match["model"] = *route.match.model;
    json out = {{"name", route.name},
                {"match", std::move(match)},
                {"backend", config.backends[route.backend].name}};
    if (route.rewrite.path_prefix) out["rewrite"]["path_prefix"] = *route.rewrite.path_prefix;
    if (route.rewrite.model) out["rewrite"]["model"] = *route.rewrite.model;
    // Header values set for the upstream may be credentials (an upstream API key).
    if (!route.headers.set.empty()) {
        json set = json::object();
        for (const auto& [name, value] : route.headers.set) set[name] = redacted;
        out["headers"]["set"] = std::move(set);
    }
    if (!route.headers.remove.empty()) out["headers"]["remove"] = route.headers.remove;
    if (route.cache)
        out["cache"] = {{"ttl", duration(route.cache->ttl)},
                        {"scope", route.cache->scope == RouteCache::Scope::global ? "global"
                                                                                   : "consumer"}};
    if (route.tiers) out["tiers"] = *route.tiers;
    return out;
}

json tier_json(const Tier& tier) {
    json rate = json::object();
    json quota = json::object();
    for (const auto& limit : tier.limits) {
        const char* unit = limit.unit == Limit::Unit::requests ? "requests" : "tokens";
        if (limit.kind == Limit::Kind::rate) {
            const char* per = limit.period == std::chrono::seconds(1) ? "second" : "minute";
            rate[std::string(unit) + "_per_" + per] = limit.amount;
            if (limit.burst != limit.amount) rate["burst"] = limit.burst;
        } else {
            const char* per = limit.window == Limit::Window::day ? "day" : "month";
            quota[std::string(unit) + "_per_" + per] = limit.amount;
        }
    }
    json out = json::object();
    if (!rate.empty()) out["rate"] = std::move(rate);
    if (!quota.empty()) out["quota"] = std::move(quota);
    return out;
}

}  // namespace

nlohmann::json to_redacted_json(const Config& config) {
    const auto& server = config.server;
    json out = {
        {"server",
         {{"listen", listen(server.listen)},
          {"workers", server.workers},
          {"max_header_bytes", server.max_header_bytes},
          {"max_body_bytes", server.max_body_bytes},
          {"max_body_memory", server.max_body_memory},
          {"header_timeout", duration(server.header_timeout)},
          {"body_timeout", duration(server.body_timeout)},
          {"idle_timeout", duration(server.idle_timeout)},
          {"drain_timeout", duration(server.drain_timeout)},
          {"max_connections", server.max_connections},
          {"trusted_proxies", cidrs(server.trusted_proxies)}}},
        {"admin", {{"listen", listen(config.admin.listen)}, {"token", secret(config.admin.token)}}},
        {"cache",
         {{"max_bytes", config.cache.max_bytes},
          {"max_entry_bytes", config.cache.max_entry_bytes},
          {"store", config.cache.store == CacheConfig::Store::memory ? "memory" : "redis"},
          {"coalesce_wait", duration(config.cache.coalesce_wait)}}},
        {"logging", {{"access_log", config.logging.access_log}}}};
    if (config.redis) {
        const auto& redis = *config.redis;
        // The URL is rebuilt without its password.
        out["redis"] = {
            {"url", "redis://" + redis.host + ":" + std::to_string(redis.port) + "/" +
                        std::to_string(redis.db)},
            {"username", redis.username},
            {"password", secret(redis.password)},
            {"timeout", duration(redis.timeout)},
            {"failure_mode",
             redis.failure_mode == RedisConfig::FailureMode::open ? "open" : "closed"}};
    }
    json tiers = json::object();
    for (const auto& tier : config.tiers) tiers[tier.name] = tier_json(tier);
    out["tiers"] = std::move(tiers);
    json consumers = json::array();
    for (const auto& consumer : config.consumers) {
        json entry = {{"name", consumer.name}, {"tier", consumer.tier}, {"keys", consumer.keys.size()}};
        if (consumer.routes) entry["routes"] = *consumer.routes;
        consumers.push_back(std::move(entry));
    }
    out["consumers"] = std::move(consumers);
    json issuers = json::array();
    for (const auto& jwt : config.jwt) {
        json entry = {{"issuer", jwt.issuer},
                      {"audiences", jwt.audiences},
                      {"algorithms", jwt.algorithms},
                      {"consumer_claim", jwt.consumer_claim},
                      {"tier_claim", jwt.tier_claim},
                      {"default_tier", jwt.default_tier},
                      {"leeway", duration(jwt.leeway)}};
        if (!jwt.jwks_file.empty()) entry["jwks_file"] = jwt.jwks_file;
        if (!jwt.jwks_url.empty()) entry["jwks_url"] = jwt.jwks_url;
        if (!jwt.secret.empty()) entry["secret"] = redacted;
        issuers.push_back(std::move(entry));
    }
    out["jwt"] = std::move(issuers);
    json backends = json::object();
    for (const auto& backend : config.backends) backends[backend.name] = backend_json(backend);
    out["backends"] = std::move(backends);
    json routes = json::array();
    for (const auto& route : config.routes) routes.push_back(route_json(route, config));
    out["routes"] = std::move(routes);
    return out;
}

}  // namespace llmgw::config
