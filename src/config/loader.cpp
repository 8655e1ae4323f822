// The configuration schema: turns the YAML document into a validated Config.
#include "llmgw/config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "auth_sections.hpp"
#include "cache_sections.hpp"
#include "llmgw/headers/header_names.hpp"
#include "llmgw/redis/redis_url.hpp"
#include "tls_sections.hpp"
#include "yaml_node.hpp"

namespace llmgw::config {
namespace {

bool valid_header_name(const std::string& name) {
    static constexpr std::string_view tchar = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || tchar.find(static_cast<char>(c)) != std::string_view::npos;
    });
}

bool valid_header_value(const std::string& value) {
    return std::none_of(value.begin(), value.end(),
                        [](unsigned char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::uint16_t parse_port(const YamlNode& node, std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535)
        node.fail("invalid port \"" + std::string(text) + "\"");
    return static_cast<std::uint16_t>(value);
}

// "host:port" or "[v6]:port".
ListenAddress parse_listen(const YamlNode& node) {
    const auto text = node.as_string();
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        node.fail("expected \"host:port\", got \"" + node.raw() + "\"");
    std::string host = text.substr(0, colon);
    if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return ListenAddress{host, parse_port(node, std::string_view(text).substr(colon + 1))};
}

Endpoint parse_endpoint_url(const YamlNode& node) {
    const auto url = node.as_string();
    const bool tls = url.rfind("https://", 0) == 0;
    if (!tls && url.rfind("http://", 0) != 0)
        node.fail("expected an http:// or https:// URL, got \"" + node.raw() + "\"");
    auto authority = std::string_view(url).substr(tls ? 8 : 7);
    if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
    if (authority.find('/') != std::string_view::npos)
        node.fail("an endpoint URL has no path (use routes[].rewrite.path_prefix)");
    Endpoint endpoint;
    endpoint.url = url;
    endpoint.tls = tls;
    if (tls) endpoint.port = 443;
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || authority.back() == ']') {
        endpoint.host = std::string(authority);
    } else {
        endpoint.host = std::string(authority.substr(0, colon));
        endpoint.port = parse_port(node, authority.substr(colon + 1));
        if (endpoint.port == 0) node.fail("an endpoint needs a port other than 0");
    }
    if (endpoint.host.size() > 2 && endpoint.host.front() == '[')
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    if (endpoint.host.empty()) node.fail("missing host in \"" + node.raw() + "\"");
    return endpoint;
}

ServerConfig parse_server(const YamlNode& node) {
    node.expect_keys({"listen", "workers", "tls", "max_header_bytes", "max_body_bytes",
                      "max_body_memory", "header_timeout", "body_timeout", "idle_timeout", "drain_timeout",
                      "max_connections", "trusted_proxies"});
    ServerConfig server;
    if (node.has("listen")) server.listen = parse_listen(node["listen"]);
    if (node.has("workers"))
        server.workers = static_cast<unsigned>(node["workers"].as_uint(0, 256));
    if (node.has("tls")) server.tls = parse_server_tls(node["tls"]);
    if (node.has("max_header_bytes")) {
        server.max_header_bytes = node["max_header_bytes"].as_size();
        if (server.max_header_bytes < 1024) node["max_header_bytes"].fail("must be at least 1KiB");
    }
    if (node.has("max_body_bytes")) server.max_body_bytes = node["max_body_bytes"].as_size();
    if (node.has("max_body_memory")) {
        server.max_body_memory = node["max_body_memory"].as_size();
        if (server.max_body_memory < server.max_body_bytes)
            node["max_body_memory"].fail("must be at least max_body_bytes");
    } else {
        server.max_body_memory = std::max(server.max_body_memory, server.max_body_bytes);
    }
    if (node.has("header_timeout")) server.header_timeout = node["header_timeout"].as_duration();
    if (node.has("body_timeout")) server.body_timeout = node["body_timeout"].as_duration();
    if (node.has("idle_timeout")) server.idle_timeout = node["idle_timeout"].as_duration();
    if (node.has("drain_timeout")) server.drain_timeout = node["drain_timeout"].as_duration();
    if (node.has("trusted_proxies")) {
        node["trusted_proxies"].for_each_item([&](const YamlNode& item) {
            auto cidr = parse_cidr(item.as_string());
            if (!cidr) node["trusted_proxies"].fail("invalid address or CIDR \"" + item.raw() + "\"");
            server.trusted_proxies.push_back(std::move(*cidr));
        });
    }
    if (node.has("max_connections"))
        server.max_connections = static_cast<unsigned>(node["max_connections"].as_uint(1, 10'000'000));
    for (auto key : {"header_timeout", "body_timeout", "idle_timeout"})
        if (node.has(key) && node[key].as_duration().count() == 0)
            node[key].fail("must be greater than 0");
    return server;
}

AdminConfig parse_admin(const YamlNode& node) {
    node.expect_keys({"listen", "token"});
    AdminConfig admin;
    if (node.has("listen")) admin.listen = parse_listen(node["listen"]);
    if (node.has("token")) admin.token = node["token"].as_string();
    return admin;
}

BackendTimeouts parse_timeouts(const YamlNode& node) {
    node.expect_keys({"connect", "first_byte", "idle", "total"});
    BackendTimeouts timeouts;
    auto read = [&](std::string_view key, Duration& out) {
        if (!node.has(key)) return;
        out = node[key].as_duration();
        if (out.count() == 0) node[key].fail("must be greater than 0");
    };
    read("connect", timeouts.connect);
    read("first_byte", timeouts.first_byte);
    read("idle", timeouts.idle);
    read("total", timeouts.total);
    return timeouts;
}

std::string parse_path_prefix(const YamlNode& node);

HealthCheck parse_health_check(const YamlNode& node) {
    node.expect_keys({"path", "interval", "timeout", "unhealthy_after", "healthy_after"});
    HealthCheck check;
    if (node.has("path")) check.path = parse_path_prefix(node["path"]);
    if (node.has("interval")) check.interval = node["interval"].as_duration();
    if (node.has("timeout")) check.timeout = node["timeout"].as_duration();
    if (node.has("unhealthy_after"))
        check.unhealthy_after = static_cast<unsigned>(node["unhealthy_after"].as_uint(1, 100));
    if (node.has("healthy_after"))
        check.healthy_after = static_cast<unsigned>(node["healthy_after"].as_uint(1, 100));
    if (check.interval.count() == 0) node["interval"].fail("must be greater than 0");
    if (check.timeout.count() == 0) node["timeout"].fail("must be greater than 0");
    return check;
}

CircuitBreakerConfig parse_circuit_breaker(const YamlNode& node) {
    node.expect_keys({"failure_threshold", "open_for", "half_open_requests", "max_concurrent"});
    CircuitBreakerConfig breaker;
    if (node.has("failure_threshold"))
        breaker.failure_threshold =
            static_cast<unsigned>(node["failure_threshold"].as_uint(1, 10000));
    if (node.has("open_for")) breaker.open_for = node["open_for"].as_duration();
    if (node.has("half_open_requests"))
        breaker.half_open_requests =
            static_cast<unsigned>(node["half_open_requests"].as_uint(1, 1000));
    if (node.has("max_concurrent"))
        breaker.max_concurrent =
            static_cast<unsigned>(node["max_concurrent"].as_uint(1, 10'000'000));
    if (breaker.open_for.count() == 0) node["open_for"].fail("must be greater than 0");
    return breaker;
}

RetryPolicy parse_retries(const YamlNode& node) {
    node.expect_keys({"attempts", "on"});
    RetryPolicy retries;
    if (node.has("attempts"))
        retries.attempts = static_cast<unsigned>(node["attempts"].as_uint(0, 10));
    if (node.has("on")) {
        retries.on = 0;
        node["on"].for_each_item([&](const YamlNode& item) {
            const auto kind = item.as_string();
            if (kind == "connect_failure")
                retries.on |= static_cast<unsigned>(RetryOn::connect_failure);
            else if (kind == "reset")
                retries.on |= static_cast<unsigned>(RetryOn::reset);
            else if (kind == "502")
                retries.on |= static_cast<unsigned>(RetryOn::status_502);
            else if (kind == "503")
                retries.on |= static_cast<unsigned>(RetryOn::status_503);
            else if (kind == "timeout")
                retries.on |= static_cast<unsigned>(RetryOn::timeout);
            else
                item.fail("expected connect_failure, reset, 502, 503 or timeout, got \"" +
                          item.raw() + "\"");
        });
    }
    return retries;
}

Keepalive parse_keepalive(const YamlNode& node) {
    node.expect_keys({"idle", "max_idle"});
    Keepalive keepalive;
    if (node.has("idle")) keepalive.idle = node["idle"].as_duration();
    if (node.has("max_idle"))
        keepalive.max_idle = static_cast<unsigned>(node["max_idle"].as_uint(0, 100'000));
    return keepalive;
}

Backend parse_backend(const std::string& name, const YamlNode& node) {
    node.expect_keys(
        {"endpoints", "balancer", "health_check", "circuit_breaker", "timeouts", "retries", "tls",
         "keepalive"});
    Backend backend;
    backend.name = name;
    if (name.empty()) node.fail("a backend needs a name");
    if (!node.has("endpoints")) node.fail("missing required key \"endpoints\"");
    node["endpoints"].for_each_item([&](const YamlNode& item) {
        item.expect_keys({"url", "weight"});
        if (!item.has("url")) item.fail("missing required key \"url\"");
        auto endpoint = parse_endpoint_url(item["url"]);
        if (item.has("weight"))
            endpoint.weight = static_cast<unsigned>(item["weight"].as_uint(1, 1000));
        backend.endpoints.push_back(std::move(endpoint));
    });
    if (backend.endpoints.empty()) node["endpoints"].fail("needs at least one endpoint");
    if (node.has("balancer")) {
        const auto kind = node["balancer"].as_string();
        if (kind == "round_robin")
            backend.balancer = BalancerKind::round_robin;
        else if (kind == "weighted")
            backend.balancer = BalancerKind::weighted;
        else if (kind == "least_request")
            backend.balancer = BalancerKind::least_request;
        else
            node["balancer"].fail("expected round_robin, weighted or least_request, got \"" +
                                  node["balancer"].raw() + "\"");
    }
    if (node.has("timeouts")) backend.timeouts = parse_timeouts(node["timeouts"]);
    if (node.has("health_check")) backend.health_check = parse_health_check(node["health_check"]);
    if (node.has("circuit_breaker"))
        backend.circuit_breaker = parse_circuit_breaker(node["circuit_breaker"]);
    if (node.has("retries")) backend.retries = parse_retries(node["retries"]);
    if (node.has("keepalive")) backend.keepalive = parse_keepalive(node["keepalive"]);
    const bool any_https = std::any_of(backend.endpoints.begin(), backend.endpoints.end(),
                                       [](const Endpoint& e) { return e.tls; });
    if (node.has("tls")) {
        if (!any_https)
            node["tls"].fail("applies to https:// endpoints, and this backend has none");
        backend.tls = parse_backend_tls(node["tls"]);
    }
    return backend;
}

// Headers the gateway owns on the upstream request (framing, hop-by-hop, forwarding):
// a route editing them would be silently overridden or would corrupt the message.
bool managed_by_gateway(const std::string& lower_name) {
    return headers::is_hop_by_hop(lower_name) || headers::is_set_by_gateway(lower_name) ||
           lower_name == "expect";
}

std::vector<std::pair<std::string, std::string>> parse_header_map(const YamlNode& node) {
    std::vector<std::pair<std::string, std::string>> headers;
    node.for_each_entry([&](const std::string& name, const YamlNode& value) {
        if (!valid_header_name(name)) value.fail("invalid header name");
        auto text = value.as_string();
        if (!valid_header_value(text)) value.fail("header values cannot contain CR, LF or NUL");
        headers.emplace_back(headers::to_lower(name), std::move(text));
    });
    return headers;
}

std::string parse_path_prefix(const YamlNode& node) {
    auto prefix = node.as_string();
    if (prefix.empty() || prefix.front() != '/') node.fail("must start with \"/\"");
    if (!valid_header_value(prefix) || prefix.find(' ') != std::string::npos)
        node.fail("must not contain spaces or control characters");
    return prefix;
}

Route parse_route(const YamlNode& node, const std::vector<Backend>& backends) {
    node.expect_keys({"name", "match", "backend", "rewrite", "headers", "cache", "tiers"});
    Route route;
    if (!node.has("name")) node.fail("missing required key \"name\"");
    route.name = node["name"].as_string();
    if (route.name.empty()) node["name"].fail("must not be empty");
    if (node.has("match")) {
        const auto match = node["match"];
        match.expect_keys({"path_prefix", "headers", "model"});
        if (match.has("path_prefix"))
            route.match.path_prefix = parse_path_prefix(match["path_prefix"]);
        if (match.has("headers")) route.match.headers = parse_header_map(match["headers"]);
        if (match.has("model")) route.match.model = match["model"].as_string();
    }
    if (!node.has("backend")) node.fail("missing required key \"backend\"");
    const auto backend_name = node["backend"].as_string();
    const auto found = std::find_if(backends.begin(), backends.end(),
                                    [&](const Backend& b) { return b.name == backend_name; });
    if (found == backends.end())
        node["backend"].fail("unknown backend \"" + node["backend"].raw() + "\"");
    route.backend = static_cast<std::size_t>(found - backends.begin());
    if (node.has("rewrite")) {
        const auto rewrite = node["rewrite"];
        rewrite.expect_keys({"path_prefix", "model"});
        if (rewrite.has("path_prefix"))
            route.rewrite.path_prefix = parse_path_prefix(rewrite["path_prefix"]);
        if (rewrite.has("model")) route.rewrite.model = rewrite["model"].as_string();
    }
    if (node.has("headers")) {
        const auto headers = node["headers"];
        headers.expect_keys({"set", "remove"});
        if (headers.has("set")) {
            route.headers.set = parse_header_map(headers["set"]);
            for (const auto& [name, value] : route.headers.set)
                if (managed_by_gateway(name))
                    headers["set"][name].fail("this header is managed by the gateway");
        }
        if (headers.has("remove")) {
            headers["remove"].for_each_item([&](const YamlNode& item) {
                auto name = item.as_string();
                if (!valid_header_name(name)) item.fail("invalid header name");
                name = headers::to_lower(name);
                if (managed_by_gateway(name)) item.fail("this header is managed by the gateway");
                route.headers.remove.push_back(std::move(name));
            });
        }
    }
    if (node.has("cache")) route.cache = parse_route_cache(node["cache"]);
    if (node.has("tiers")) {
        route.tiers.emplace();
        node["tiers"].for_each_item(
            [&](const YamlNode& item) { route.tiers->push_back(item.as_string()); });
        if (route.tiers->empty())
            node["tiers"].fail("an empty list admits no one (leave tiers out to admit all)");
    }
    return route;
}

LoggingConfig parse_logging(const YamlNode& node) {
    node.expect_keys({"level", "access_log"});
    LoggingConfig logging;
    if (node.has("level")) {
        const auto level = node["level"].as_string();
        if (level == "trace")
            logging.level = LogLevel::trace;
        else if (level == "debug")
            logging.level = LogLevel::debug;
        else if (level == "info")
            logging.level = LogLevel::info;
        else if (level == "warn")
            logging.level = LogLevel::warn;
        else if (level == "error")
            logging.level = LogLevel::error;
        else
            node["level"].fail("expected trace, debug, info, warn or error, got \"" +
                               node["level"].raw() + "\"");
    }
    if (node.has("access_log")) {
        logging.access_log = node["access_log"].as_string();
        if (logging.access_log.empty())
            node["access_log"].fail("expected stdout, off or a file path");
    }
    return logging;
}

RedisConfig parse_redis(const YamlNode& node) {
    node.expect_keys({"url", "timeout", "failure_mode"});
    RedisConfig redis;
    if (!node.has("url")) node.fail("missing required key \"url\"");
    std::string error;
    const auto url = redis::parse_redis_url(node["url"].as_string(), error);
    if (!url) node["url"].fail(error);  // the message never quotes the URL: it may hold a password
    redis.host = url->host;
    redis.port = url->port;
    redis.username = url->username;
    redis.password = url->password;
    redis.db = url->db;
    if (node.has("timeout")) {
        redis.timeout = node["timeout"].as_duration();
        if (redis.timeout.count() == 0) node["timeout"].fail("must be greater than 0");
    }
    if (node.has("failure_mode")) {
        const auto mode = node["failure_mode"].as_string();
        if (mode == "open")
            redis.failure_mode = RedisConfig::FailureMode::open;
        else if (mode == "closed")
            redis.failure_mode = RedisConfig::FailureMode::closed;
        else
            node["failure_mode"].fail("expected open or closed, got \"" +
                                      node["failure_mode"].raw() + "\"");
    }
    return redis;
}

Config parse_document(const YAML::Node& document, const std::string& source) {
    const YamlNode root(document, "", &source, 1);
    if (root.is_null()) root.fail("the configuration is empty");
    root.expect_keys({"server", "admin", "redis", "tiers", "consumers", "jwt", "backends", "routes",
                      "cache", "logging"});

    Config config;
    if (root.has("server")) config.server = parse_server(root["server"]);
    if (config.server.workers == 0)
        config.server.workers = std::max(1u, std::thread::hardware_concurrency());
    if (root.has("admin")) config.admin = parse_admin(root["admin"]);
    if (root.has("logging")) config.logging = parse_logging(root["logging"]);

    if (!root.has("backends")) root.fail("missing required key \"backends\"");
    root["backends"].for_each_entry([&](const std::string& name, const YamlNode& node) {
        config.backends.push_back(parse_backend(name, node));
    });
    if (config.backends.empty()) root["backends"].fail("needs at least one backend");

    if (!root.has("routes")) root.fail("missing required key \"routes\"");
    std::set<std::string> route_names;
    root["routes"].for_each_item([&](const YamlNode& node) {
        auto route = parse_route(node, config.backends);
        if (!route_names.insert(route.name).second)
            node["name"].fail("duplicate route name \"" + node["name"].raw() + "\"");
        config.routes.push_back(std::move(route));
    });
    if (config.routes.empty()) root["routes"].fail("needs at least one route");

    if (root.has("tiers")) config.tiers = parse_tiers(root["tiers"]);
    root["routes"].for_each_item([&](const YamlNode& node) {
        if (!node.has("tiers")) return;
        node["tiers"].for_each_item(
            [&](const YamlNode& item) { require_tier(item, item.as_string(), config.tiers); });
    });
    if (root.has("redis")) config.redis = parse_redis(root["redis"]);
    if (root.has("cache")) config.cache = parse_cache(root["cache"], config.redis);
    if (root.has("consumers"))
        config.consumers = parse_consumers(root["consumers"], config.tiers, config.routes);
    if (root.has("jwt")) config.jwt = parse_jwt(root["jwt"], config.tiers);
    return config;
}

}  // namespace

Config load_string(const std::string& yaml, const std::string& source_name) {
    YAML::Node document;
    try {
        document = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) +
                          ": invalid YAML: " + e.msg);
    }
    return parse_document(document, source_name);
}

Config load_file(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw ConfigError(path + ": cannot open the file");
    std::stringstream text;
    text << file.rdbuf();
    return load_string(text.str(), path);
}

}  // namespace llmgw::config
