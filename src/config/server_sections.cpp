// The tables of server, server.tls, admin, logging and redis.
#include <algorithm>

#include "llmgw/redis/redis_url.hpp"
#include "sections.hpp"
#include "values.hpp"

namespace llmgw::config::schema {

namespace {

template <typename S>
Field<S> listen(std::string_view name, ListenAddress S::*m) {
    return member(name, m, parse_listen, format_listen);
}

Field<ServerConfig> trusted_proxies() {
    return member(
        "trusted_proxies", &ServerConfig::trusted_proxies,
        [](const YamlNode& node) {
            std::vector<Cidr> networks;
            node.for_each_item([&](const YamlNode& item) {
                auto cidr = parse_cidr(item.as_string());
                if (!cidr) node.fail("invalid address or CIDR \"" + item.raw() + "\"");
                networks.push_back(std::move(*cidr));
            });
            return networks;
        },
        [](const std::vector<Cidr>& networks) {
            json out = json::array();
            for (const auto& network : networks) out.push_back(network.text);
            return out;
        });
}

// Turning TLS on or off needs a restart; new certificates at a reload do not.
Field<ServerConfig> server_tls() {
    auto field = optional_nested("tls", &ServerConfig::tls, server_tls_section());
    field.same = [](const ServerConfig& a, const ServerConfig& b) {
        return a.tls.has_value() == b.tls.has_value();
    };
    return std::move(field).restart();
}

// max_body_memory defaults to at least max_body_bytes.
void check_server(const YamlNode& node, ServerConfig& server, const Config&) {
    if (node.has("max_body_memory")) {
        if (server.max_body_memory < server.max_body_bytes)
            node["max_body_memory"].fail("must be at least max_body_bytes");
    } else {
        server.max_body_memory = std::max(server.max_body_memory, server.max_body_bytes);
    }
}

Rule<std::uint64_t> at_least_1kib() {
    return [](const std::uint64_t& size) {
        return size < 1024 ? "must be at least 1KiB" : std::string();
    };
}

}  // namespace

const Section<ServerConfig>& server_section() {
    using S = ServerConfig;
    static const Section<S> section{
        {listen("listen", &S::listen).restart(), integer("workers", &S::workers, 0, 256).restart(),
         server_tls(), size("max_header_bytes", &S::max_header_bytes, at_least_1kib()).restart(),
         size("max_body_bytes", &S::max_body_bytes).restart(),
         size("max_body_memory", &S::max_body_memory).restart(),
         duration("header_timeout", &S::header_timeout, positive()).restart(),
         duration("body_timeout", &S::body_timeout, positive()).restart(),
         duration("idle_timeout", &S::idle_timeout, positive()).restart(),
         duration("drain_timeout", &S::drain_timeout),
         integer("max_connections", &S::max_connections, 1, 10'000'000).restart(),
         trusted_proxies()},
        check_server};
    return section;
}

const Section<AdminConfig>& admin_section() {
    using S = AdminConfig;
    static const Section<S> section{
        {listen("listen", &S::listen).restart(), text("token", &S::token).secret()}};
    return section;
}

const Section<LoggingConfig>& logging_section() {
    using S = LoggingConfig;
    static const Names<LogLevel> levels{{{"trace", LogLevel::trace},
                                         {"debug", LogLevel::debug},
                                         {"info", LogLevel::info},
                                         {"warn", LogLevel::warn},
                                         {"error", LogLevel::error}}};
    static const Section<S> section{
        {choice("level", &S::level, levels),
         text("access_log", &S::access_log, [](const std::string& value) {
             return value.empty() ? "expected stdout, off or a file path" : "";
         }).restart()}};
    return section;
}

namespace {

// The URL's parts are kept parsed; the message never quotes the URL (it may hold a password).
Field<RedisConfig> redis_url() {
    Field<RedisConfig> field;
    field.name = "url";
    field.read = [](const YamlNode& node, RedisConfig& redis, const Config&) {
        std::string error;
        const auto url = redis::parse_redis_url(node.as_string(), error);
        if (!url) node.fail(error);
        redis.host = url->host;
        redis.port = url->port;
        redis.username = url->username;
        redis.password = url->password;
        redis.db = url->db;
        redis.secure = url->tls;
    };
    // Rebuilt without the user and password (shown on their own, the password redacted).
    field.show = [](const RedisConfig& redis, const Config&) {
        return json(std::string(redis.secure ? "rediss://" : "redis://") + redis.host + ":" +
                    std::to_string(redis.port) + "/" + std::to_string(redis.db));
    };
    field.same = [](const RedisConfig& a, const RedisConfig& b) {
        return a.host == b.host && a.port == b.port && a.username == b.username &&
               a.password == b.password && a.db == b.db && a.secure == b.secure;
    };
    return std::move(field).required();
}

// redis.nodes: URLs like `url`'s (a sentinel's own password may be in its URL), no database.
// With cluster they are more seeds; the url's user and password are every node's.
Field<RedisConfig> redis_nodes() {
    return member(
        "nodes", &RedisConfig::nodes,
        [](const YamlNode& node) {
            std::vector<RedisNode> nodes;
            node.for_each_item([&](const YamlNode& item) {
                std::string error;
                const auto url = redis::parse_redis_url(item.as_string(), error);
                if (!url) item.fail(error);
                if (url->db != 0) item.fail("a node's URL names no database (url's db is used)");
                nodes.push_back(
                    RedisNode{url->host, url->port, url->username, url->password, url->tls});
            });
            if (nodes.empty()) node.fail("needs at least one URL");
            return nodes;
        },
        [](const std::vector<RedisNode>& nodes) {
            json out = json::array();
            for (const auto& n : nodes)
                out.push_back(std::string(n.tls ? "rediss://" : "redis://") + n.host + ":" +
                              std::to_string(n.port));
            return out;
        });
}

const Section<RedisSentinel>& redis_sentinel_section() {
    static const Section<RedisSentinel> section{
        {text("master", &RedisSentinel::master, [](const std::string& value) {
             return value.empty() ? "must not be empty" : "";
         }).required()}};
    return section;
}

// Rules across the redis fields: which topology, and TLS exactly with rediss://.
void check_redis(const YamlNode& node, RedisConfig& redis, const Config&) {
    if (redis.cluster && redis.sentinel)
        node["cluster"].fail("cannot be used with sentinel: a deployment is either a Redis "
                             "Cluster or a master watched by sentinels");
    if (redis.cluster && redis.db != 0)
        node["url"].fail("names database " + std::to_string(redis.db) +
                         ", but Redis Cluster has only database 0");
    if (redis.tls && !redis.secure)
        node["tls"].fail("needs a rediss:// url (TLS); with redis:// nothing is encrypted");
    if (redis.secure && !redis.tls) redis.tls.emplace();  // the system's CAs, the host's name
    if (!redis.nodes.empty() && !redis.sentinel && !redis.cluster)
        node["nodes"].fail("needs cluster (the nodes are seeds) or sentinel (they are sentinels)");
    for (std::size_t i = 0; i < redis.nodes.size(); ++i)
        if (redis.nodes[i].tls != redis.secure)
            node["nodes"].fail("nodes[" + std::to_string(i) +
                               "] must use the url's scheme (" +
                               (redis.secure ? "rediss://" : "redis://") + ")");
}

}  // namespace

const Section<RedisConfig>& redis_section() {
    using S = RedisConfig;
    static const Names<S::FailureMode> modes{
        {{"open", S::FailureMode::open}, {"closed", S::FailureMode::closed}}};
    static const Names<S::Admission> admissions{
        {{"exact", S::Admission::exact}, {"lease", S::Admission::lease}}};
    static const Section<S> section{
        {redis_url(), shown_only<S>("username", [](const S& redis) { return redis.username; }),
         shown_only<S>("password", [](const S& redis) { return redis.password; }).secret(),
         optional_nested("tls", &S::tls, redis_tls_section()), flag("cluster", &S::cluster),
         redis_nodes(), optional_nested("sentinel", &S::sentinel, redis_sentinel_section()),
         duration("timeout", &S::timeout, positive()),
         choice("failure_mode", &S::failure_mode, modes),
         choice("admission", &S::admission, admissions),
         number("lease_fraction", &S::lease_fraction, 1e-6, 1.0)},
        check_redis};
    return section;
}

}  // namespace llmgw::config::schema
