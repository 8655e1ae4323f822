// The validated, immutable configuration: plain structs the hot path reads directly.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmgw/config/cidr.hpp"
#include "llmgw/config/pem.hpp"

namespace llmgw::config {

using Duration = std::chrono::milliseconds;

struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    bool operator==(const ListenAddress&) const = default;
};

enum class TlsVersion { v1_2, v1_3 };

// server.tls: the listener terminates TLS with this certificate chain and key (PEM files).
struct ServerTls {
    std::string cert_file;  // the server certificate first, then intermediates
    std::string key_file;
    TlsVersion min_version = TlsVersion::v1_2;
    // The files' contents as read and checked at load (a reload reads them again).
    std::vector<Certificate> chain;
    PrivateKey key;
    // The same files and version: the parsed contents are not compared.
    bool operator==(const ServerTls& other) const {
        return cert_file == other.cert_file && key_file == other.key_file &&
               min_version == other.min_version;
    }
};

struct ServerConfig {
    ListenAddress listen{"0.0.0.0", 8080};
    unsigned workers = 0;  // resolved at load: 0 becomes the number of cores
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 8 * 1024 * 1024;
    // All request bodies held at once, across workers; at least max_body_bytes.
    std::size_t max_body_memory = 256 * 1024 * 1024;
    Duration header_timeout = std::chrono::seconds(10);
    Duration body_timeout = std::chrono::seconds(60);
    Duration idle_timeout = std::chrono::seconds(75);
    Duration drain_timeout = std::chrono::seconds(30);
    // Open client connections across all workers; beyond it new ones are closed at once, so a
    // flood of idle or slow connections cannot exhaust file descriptors.
    unsigned max_connections = 10000;
    // Peers (CIDRs) whose x-forwarded-for is believed; everyone else's is replaced.
    std::vector<Cidr> trusted_proxies;
    std::optional<ServerTls> tls;  // absent: plain HTTP
    bool operator==(const ServerConfig&) const = default;
};

struct AdminConfig {
    ListenAddress listen{"127.0.0.1", 9090};
    std::string token;  // empty: /admin/* is open (a warning is logged)
    bool operator==(const AdminConfig&) const = default;
};

// An upstream address parsed from "http://host:port" or "https://host:port".
struct Endpoint {
    std::string url;  // as written, for labels and logs
    std::string host;
    std::uint16_t port = 80;  // 443 for https:// without a port
    unsigned weight = 1;
    bool tls = false;  // https://
    // Requests in flight at most; the scheduler sends only to an endpoint with a free slot
    // (0: unlimited).
    unsigned max_concurrent = 0;
    bool operator==(const Endpoint&) const = default;
};

// backends.<name>.tls: how the backend's https:// endpoints are verified.
struct BackendTls {
    std::string ca_file;      // PEM CA certificates to trust; empty: the system's store
    bool verify = true;       // false only when written explicitly (a warning at start)
    std::string server_name;  // SNI and the name checked in the certificate; empty: URL host
    std::vector<Certificate> ca_certificates;  // ca_file as read at load
    // Compared by file name, so an unchanged backend keeps its state (and its context) on a
    // reload, as it always has; a renewed CA at the same path is used after a restart.
    bool operator==(const BackendTls& other) const {
        return ca_file == other.ca_file && verify == other.verify &&
               server_name == other.server_name;
    }
};

enum class BalancerKind { round_robin, weighted, least_request, engine_aware };

// What a backend's endpoints run: which names their /metrics uses (none: nothing is scraped).
enum class EngineKind { none, vllm, sglang, trtllm, triton };

// backends.<name>.engine_metrics: how each endpoint's /metrics is scraped while engine != none.
struct EngineMetricsConfig {
    std::string path = "/metrics";
    Duration interval = std::chrono::seconds(1);
    Duration timeout = std::chrono::milliseconds(500);
    Duration stale_after = std::chrono::seconds(5);  // older figures are ignored
    // Another port of each endpoint's host serving the metrics (Triton: 8002 beside
    // inference on 8000); 0: the endpoint's own port.
    std::uint16_t port = 0;
    bool operator==(const EngineMetricsConfig&) const = default;
};

// backends.<name>.affinity: keeps related requests on one endpoint within a bounded load.
struct AffinityConfig {
    enum class By { prefix, header, consumer };
    By by = By::prefix;
    std::string header = "x-session-id";  // with by: header (lower-cased)
    std::size_t prefix_bytes = 131072;    // with by: prefix: leading prompt bytes looked at
    std::size_t block_bytes = 512;        // with by: prefix: the prompt is hashed in blocks
    double max_load = 1.25;               // × the backend's mean in-flight load
    bool operator==(const AffinityConfig&) const = default;
};

struct BackendTimeouts {
    Duration connect = std::chrono::seconds(2);
    Duration first_byte = std::chrono::seconds(60);
    Duration idle = std::chrono::seconds(30);
    Duration total = std::chrono::minutes(10);
    bool operator==(const BackendTimeouts&) const = default;
};

struct HealthCheck {
    std::string path = "/health";  // vLLM; Triton: /v2/health/ready
    Duration interval = std::chrono::seconds(5);
    Duration timeout = std::chrono::seconds(1);
    unsigned unhealthy_after = 2;  // consecutive failed checks
    unsigned healthy_after = 1;    // consecutive passed checks
    bool operator==(const HealthCheck&) const = default;
};

struct CircuitBreakerConfig {
    unsigned failure_threshold = 5;                // consecutive failures that open the circuit
    Duration open_for = std::chrono::seconds(30);  // doubles on each reopening, up to 8x
    unsigned half_open_requests = 1;
    unsigned max_concurrent = 0;  // in-flight requests per backend; 0 = unlimited
    bool operator==(const CircuitBreakerConfig&) const = default;
};

enum class RetryOn : unsigned {
    connect_failure = 1,
    reset = 2,
    status_502 = 4,
    status_503 = 8,
    timeout = 16,  // before the first byte of the answer
};

struct RetryPolicy {
    // Extra tries, each on a different endpoint. By default one more try when a connection
    // could not be made: the request never reached the model, so it is always safe.
    unsigned attempts = 1;
    unsigned on = static_cast<unsigned>(RetryOn::connect_failure);
    bool allows(RetryOn kind) const { return (on & static_cast<unsigned>(kind)) != 0; }
    bool operator==(const RetryPolicy&) const = default;
};

// Pooled upstream connections. The idle default stays below uvicorn's (and so vLLM's) 5 s
// keep-alive timeout, so the gateway closes first instead of writing into a closing socket.
struct Keepalive {
    Duration idle = std::chrono::seconds(4);
    unsigned max_idle = 256;  // per endpoint and worker
    bool operator==(const Keepalive&) const = default;
};

// backends.<name>.queue: requests wait for capacity instead of getting 503 at once.
struct QueueConfig {
    unsigned max_waiting = 1000;                    // more waiting: 503 queue_full at once
    Duration timeout = std::chrono::seconds(30);    // waited this long: 503 queue_timeout
    bool operator==(const QueueConfig&) const = default;
};

// backends.<name>.fallbacks[]: another backend tried when this one cannot take the request.
struct Fallback {
    std::string backend;
    // The model the request names there (the body's "model" is rewritten); unset: unchanged.
    std::optional<std::string> model;
    bool operator==(const Fallback&) const = default;
};

struct Backend {
    std::string name;
    std::vector<Endpoint> endpoints;
    BalancerKind balancer = BalancerKind::round_robin;
    EngineKind engine = EngineKind::none;
    EngineMetricsConfig engine_metrics;
    std::optional<AffinityConfig> affinity;
    BackendTimeouts timeouts;
    std::optional<HealthCheck> health_check;
    CircuitBreakerConfig circuit_breaker;
    RetryPolicy retries;
    BackendTls tls;  // used by https:// endpoints
    Keepalive keepalive;
    std::optional<QueueConfig> queue;  // unset: at capacity answers 503 at once
    std::vector<Fallback> fallbacks;   // tried in order, before anything reached the client
    bool operator==(const Backend&) const = default;
};

struct RouteMatch {
    std::string path_prefix = "/";
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::optional<std::string> model;
    // Where the request's model is read: the JSON body's "model", or the path segment right
    // after path_prefix (Triton's /v2/models/{model}/generate).
    enum class ModelFrom { body, path };
    ModelFrom model_from = ModelFrom::body;
    bool operator==(const RouteMatch&) const = default;
};

struct RouteRewrite {
    std::optional<std::string> path_prefix;
    std::optional<std::string> model;
    bool operator==(const RouteRewrite&) const = default;
};

struct HeaderEdits {
    std::vector<std::pair<std::string, std::string>> set;  // names lower-cased
    std::vector<std::string> remove;                       // names lower-cased
    bool operator==(const HeaderEdits&) const = default;
};

// A route's response cache: exact-match answers kept for `ttl`.
struct RouteCache {
    Duration ttl{};
    // global: one answer for everyone who asks the same; consumer: each consumer's own.
    enum class Scope { global, consumer };
    Scope scope = Scope::global;
    bool operator==(const RouteCache&) const = default;
};

struct Route {
    std::string name;
    RouteMatch match;
    std::size_t backend = 0;  // index into Config::backends
    RouteRewrite rewrite;
    HeaderEdits headers;
    std::optional<std::vector<std::string>> tiers;  // allow-list of tier names
    std::optional<RouteCache> cache;                // answers of this route are cached
    // Who answers GET .../models on this route: the backend (passed through), or the gateway
    // itself with the models the consumer may reach.
    enum class Models { upstream, gateway };
    Models models = Models::upstream;
    bool operator==(const Route&) const = default;
};

// An API key as the config holds it: only its SHA-256, never the key itself.
struct ApiKey {
    std::array<unsigned char, 32> sha256{};
    bool operator==(const ApiKey&) const = default;
};

struct Consumer {
    std::string name;
    std::string tier;
    std::vector<ApiKey> keys;
    std::optional<std::vector<std::string>> routes;  // allow-list of route names
    bool operator==(const Consumer&) const = default;
};

// One limit of a tier. Rates are token buckets; quotas are fixed UTC calendar windows.
struct Limit {
    // cost: money budgets (quota.cost_per_day|month), counted in nano-units of `prices`.
    enum class Unit { requests, tokens, cost };
    enum class Kind { rate, quota };
    enum class Window { day, month };  // quotas only
    Unit unit = Unit::requests;
    Kind kind = Kind::rate;
    std::uint64_t amount = 0;     // per period (rate) or per window (quota); cost: nano-units
    Duration period{};            // rate: 1s or 1m
    std::uint64_t burst = 0;      // rate: bucket capacity (defaults to amount)
    Window window = Window::day;  // quota
    bool operator==(const Limit&) const = default;
};

struct Tier {
    std::string name;
    std::vector<Limit> limits;  // empty: unlimited
    unsigned priority = 0;        // queue order across tiers: higher first
    unsigned weight = 1;          // share among waiting consumers of one priority
    unsigned max_concurrent = 0;  // per consumer, requests in flight (0: unlimited)
    bool operator==(const Tier&) const = default;
};

// One trusted issuer of OAuth 2.0 access tokens (JWTs).
struct JwtIssuer {
    std::string issuer;                  // must equal the token's "iss"
    std::vector<std::string> audiences;  // the token's "aud" must contain one of them
    std::string jwks_file;               // exactly one of jwks_file, jwks_url, secret
    std::string jwks_url;
    std::string secret;                   // for HS256/384/512 only
    std::vector<std::string> algorithms;  // e.g. RS256, ES256, EdDSA; never "none"
    std::string consumer_claim = "sub";
    std::string tier_claim = "tier";
    std::string default_tier;  // when the token has no tier claim
    Duration leeway = std::chrono::seconds(30);
    Duration jwks_refresh = std::chrono::minutes(5);  // jwks_url only
    bool operator==(const JwtIssuer&) const = default;
};

// redis.tls: how the servers of a rediss:// url are checked, and the gateway's own
// certificate when they ask for one (mTLS).
struct RedisTls {
    std::string ca_file;      // PEM CA certificates to trust; empty: the system's store
    bool verify = true;       // false only when written explicitly (a warning at start)
    std::string server_name;  // SNI and the name checked in the certificate; empty: the host
    std::string cert_file;    // the client certificate (chain) and its key: both or neither
    std::string key_file;
    std::vector<Certificate> ca_certificates;  // the files as read and checked at load
    std::vector<Certificate> chain;
    PrivateKey key;
    bool operator==(const RedisTls& other) const {
        return ca_file == other.ca_file && verify == other.verify &&
               server_name == other.server_name && cert_file == other.cert_file &&
               key_file == other.key_file;
    }
};

// One of redis.nodes: a sentinel, with its own password if it has one.
struct RedisNode {
    std::string host;
    std::uint16_t port = 6379;
    std::string username;
    std::string password;
    bool tls = false;  // rediss://: must match the url's scheme
    bool operator==(const RedisNode&) const = default;
};

// redis.sentinel: the master's name the sentinels know it by.
struct RedisSentinel {
    std::string master;
    bool operator==(const RedisSentinel&) const = default;
};

struct RedisConfig {
    std::string host;
    std::uint16_t port = 6379;
    std::string username;
    std::string password;
    int db = 0;
    // rediss://: every connection uses TLS, checked as `tls` says (the system's CAs and the
    // host's name when the section is absent). tls is set exactly when the url is rediss://.
    bool secure = false;
    std::optional<RedisTls> tls;
    bool cluster = false;                  // Redis Cluster: url and nodes are seeds
    std::vector<RedisNode> nodes;          // with cluster: more seeds; with sentinel: sentinels
    std::optional<RedisSentinel> sentinel; // url and nodes are sentinels; url's password, db
                                           // are the master's
    Duration timeout = std::chrono::milliseconds(50);  // bounds every call
    enum class FailureMode { open, closed };
    // open: admit on the in-process limiter while Redis is unavailable; closed: answer 503.
    FailureMode failure_mode = FailureMode::open;
    // exact: every admission decided in Redis, at most one call per request (settles and usage
    // ride along); lease: each instance admits locally from slices of each limit.
    enum class Admission { exact, lease };
    Admission admission = Admission::exact;
    double lease_fraction = 0.02;  // lease: the most of any limit one instance holds
    bool operator==(const RedisConfig&) const = default;
};

// Where consumers, keys, the usage ledger and the audit log live (design part three).
struct StoreConfig {
    enum class Engine { sqlite, postgres };
    Engine engine = Engine::sqlite;
    std::string path;  // sqlite: the database file
    // postgres: the URL as written (libpq reads it; it may hold a password, never shown)
    std::string url;
    std::string url_shown;  // the URL without its password, for /admin/config and logs
    Duration flush_interval = std::chrono::seconds(5);  // the usage ledger's writes
    Duration sync_interval = std::chrono::seconds(30);  // full re-read of consumers and keys
    bool operator==(const StoreConfig&) const = default;
};

// Consumers managing their own keys with a key (/gateway/me, /gateway/keys).
struct SelfServiceConfig {
    bool enabled = false;
    unsigned max_keys_per_consumer = 5;
    bool operator==(const SelfServiceConfig&) const = default;
};

enum class LogLevel { trace, debug, info, warn, error };

struct LoggingConfig {
    LogLevel level = LogLevel::info;
    std::string access_log = "stdout";  // "stdout", "off" or a file path
    bool operator==(const LoggingConfig&) const = default;
};

// tracing: OpenTelemetry spans, exported over OTLP/HTTP (JSON) to a collector.
struct TracingConfig {
    Endpoint collector;               // the endpoint URL's scheme, host and port (url as written)
    std::string path = "/v1/traces";  // the endpoint URL's path
    double sample_ratio = 1.0;        // of traces started here; a sampled traceparent always wins
    std::string service_name = "llmgw";
    std::vector<std::pair<std::string, std::string>> headers;  // sent to the collector (auth)
    std::optional<BackendTls> tls;  // how an https:// collector is verified
    std::size_t batch_size = 512;   // spans per export request
    std::size_t max_queue = 4096;   // spans waiting per worker; more are dropped and counted
    Duration flush_interval = std::chrono::seconds(1);  // the longest a span waits to go
    Duration timeout = std::chrono::seconds(5);         // per export request
    bool operator==(const TracingConfig&) const = default;
};

// The response cache shared by every route with `cache`.
struct CacheConfig {
    std::uint64_t max_bytes = 256ull << 20;      // all entries together (in process)
    std::uint64_t max_entry_bytes = 1ull << 20;  // larger answers are never stored
    // memory: in this process, shared by its workers; redis: shared by every instance.
    enum class Store { memory, redis };
    Store store = Store::memory;
    // How long identical requests wait for the first one's answer before going upstream.
    Duration coalesce_wait = std::chrono::seconds(30);
    bool operator==(const CacheConfig&) const = default;
};

// limits: how token limits reserve at admission.
struct LimitsConfig {
    // Reserved for the answer of a request that names no max_tokens / max_completion_tokens /
    // max_output_tokens.
    std::uint64_t completion_tokens_estimate = 512;
    bool operator==(const LimitsConfig&) const = default;
};

// prices.<model>: what one million tokens cost, in the unit of the money budgets.
struct Price {
    double prompt = 0;
    double completion = 0;
    bool operator==(const Price&) const = default;
};

struct Config {
    ServerConfig server;
    AdminConfig admin;
    std::vector<Backend> backends;
    std::vector<Route> routes;
    std::vector<Tier> tiers;
    std::vector<Consumer> consumers;
    std::vector<JwtIssuer> jwt;
    std::optional<RedisConfig> redis;
    CacheConfig cache;
    LoggingConfig logging;
    LimitsConfig limits;
    std::map<std::string, Price> prices;  // by model name as sent upstream
    std::optional<TracingConfig> tracing;
    std::optional<StoreConfig> store;  // unset: YAML consumers only, usage in process/Redis
    SelfServiceConfig self_service;
    bool operator==(const Config&) const = default;
};

}  // namespace llmgw::config
