// The state every worker shares: the current config snapshot (swapped atomically on reload)
// and the state that outlives snapshots: metrics, limits, usage, cache, access log.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "llmgw/cache/redis_store.hpp"
#include "llmgw/cache/response_cache.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/gateway/drain.hpp"
#include "llmgw/gateway/pipeline_services.hpp"
#include "llmgw/gateway/readiness.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/gateway/snapshot.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/limits/fleet_size.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/redis_usage.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/observability/access_log.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/observability/routing_metrics.hpp"
#include "llmgw/store/catalog.hpp"
#include "llmgw/tls/server_context.hpp"
#include "llmgw/tracing/trace_metrics.hpp"

namespace llmgw::gateway {

// What a reload did.
struct ReloadOutcome {
    bool ok = false;
    std::string error{};  // why the file was refused (file:line: key: ...)
    std::uint64_t version = 0;  // the running snapshot's version after the reload
    // Changed fields a reload cannot apply (listeners, workers, Redis, cache store, session
    // limits, access-log destination): they keep their running values until a restart.
    std::vector<std::string> restart_required{};
};

class Gateway final : public SnapshotSource {
public:
    // `config_path` is the file reload() reads again; empty: reloads are refused.
    explicit Gateway(std::shared_ptr<const config::Config> config, std::string config_path = {});
    ~Gateway();
    // Fetches remote JWKS before the listeners open; starts health checks on `executor`.
    void start_background_work(http::Executor executor);
    // Ends what start_background_work began on that executor, while it still runs.
    void stop_background_work();

    // The snapshot new requests use. A request holds on to the one it started with.
    std::shared_ptr<Snapshot> snapshot() const override {
        return current_.load(std::memory_order_acquire);
    }
    // The config the process started with, for what only a restart changes.
    const config::Config& startup_config() const { return *startup_config_; }

    // Reads the config file again; a valid one becomes the current snapshot, an invalid one
    // changes nothing. Runs on the admin thread (SIGHUP and POST /admin/reload).
    ReloadOutcome reload();
    // Swaps in an already validated config (reload() after loading the file).
    ReloadOutcome apply(std::shared_ptr<const config::Config> config);

    observability::Metrics& metrics() { return metrics_; }
    // The span exporters' counters (every worker's), on the metrics registry.
    tracing::TraceMetrics& trace_metrics() { return trace_metrics_; }
    limits::LocalLimiter& limiter() { return limiter_; }
    limits::UsageLedger& usage() { return usage_; }
    // The instances sharing the Redis (heartbeats; failure_mode open only).
    const limits::FleetSize& fleet() const { return fleet_; }
    // The usage kept in Redis (for /admin/usage), when Redis is configured; admin thread only.
    limits::RedisUsage* redis_usage() { return redis_usage_.get(); }
    observability::AccessLog& access_log() { return access_log_; }
    // The listener's TLS (server.tls), renewed from the files on every reload; null without TLS.
    const tls::ServerContext* server_tls() const { return server_tls_.get(); }
    cache::SharedCache& cache() { return cache_; }
    // The Redis cache store for purges, when Redis is configured; admin thread only.
    cache::RedisStore* redis_cache() { return redis_cache_.get(); }
    // Every Redis client's settings (TLS context included, built once at start); null
    // without a redis section.
    const redis::Client::Options* redis_options() const {
        return redis_options_ ? &*redis_options_ : nullptr;
    }

    Drain& drain() { return drain_; }
    // What a worker's pipeline may use of all this.
    PipelineServices pipeline_services() {
        return {*this, metrics_, access_log_, drain_, cache_, catalog_.get()};
    }
    // The store of consumers, keys, usage and audit, when `store` is configured; else null.
    store::Catalog* catalog() { return catalog_.get(); }
    // Whether every worker can serve (its limits store is reachable); set by the server.
    Readiness& readiness() { return readiness_; }

private:
    const store::DirectorySource* directory() const;

    // Engine figures and affinity outcomes into the routing metrics (on each /metrics read).
    void sample_routing(std::chrono::steady_clock::time_point now);
    std::shared_ptr<const config::Config> startup_config_;
    std::string config_path_;
    std::unique_ptr<store::Catalog> catalog_;  // before the snapshots, which read its directory
    std::atomic<std::shared_ptr<Snapshot>> current_;
    std::optional<http::Executor> background_;  // where health checks run
    std::vector<std::shared_ptr<Snapshot>> retired_;  // replaced, maybe still used by requests
    observability::Metrics metrics_;
    tracing::TraceMetrics trace_metrics_{metrics_.registry()};
    observability::RoutingMetrics routing_metrics_{metrics_.registry()};
    limits::LocalLimiter limiter_;
    limits::UsageLedger usage_;
    std::unique_ptr<redis::Client> admin_redis_;
    limits::FleetSize fleet_;  // heartbeats on admin_redis_
    std::unique_ptr<limits::RedisUsage> redis_usage_;
    std::unique_ptr<cache::RedisStore> redis_cache_;
    cache::SharedCache cache_;
    observability::AccessLog access_log_;
    std::unique_ptr<tls::ServerContext> server_tls_;
    std::optional<redis::Client::Options> redis_options_;
    Drain drain_;
    Readiness readiness_;
};

}  // namespace llmgw::gateway
