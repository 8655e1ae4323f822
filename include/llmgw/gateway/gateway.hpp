// The state every worker shares: the config snapshot and what is built from it once,
// plus the process-wide metrics and access log.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <vector>

#include "llmgw/auth/authenticator.hpp"
#include "llmgw/auth/jwks_refresher.hpp"
#include "llmgw/cache/redis_store.hpp"
#include "llmgw/cache/response_cache.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/trusted_proxies.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/redis_usage.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/observability/access_log.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/routing/route_table.hpp"
#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/health_checker.hpp"

namespace llmgw::gateway {

class Gateway {
public:
    explicit Gateway(std::shared_ptr<const config::Config> config);
    ~Gateway();
    // Fetches remote JWKS before the listeners open; starts health checks on `executor`.
    void start_background_work(http::net::any_io_executor executor);
    // Ends what start_background_work began on that executor, while it still runs.
    void stop_background_work();

    const config::Config& config() const { return *config_; }
    const auth::Authenticator& authenticator() const { return authenticator_; }
    const routing::RouteTable& routes() const { return routes_; }
    const http::TrustedProxies& trusted_proxies() const { return trusted_proxies_; }
    upstream::BackendState& backend(std::size_t index) { return *backends_[index]; }
    observability::Metrics& metrics() { return metrics_; }
    limits::LocalLimiter& limiter() { return limiter_; }
    limits::UsageLedger& usage() { return usage_; }
    // The usage kept in Redis (for /admin/usage), when Redis is configured; admin thread only.
    limits::RedisUsage* redis_usage() { return redis_usage_.get(); }
    // The tier of that name, or nullptr.
    const config::Tier* tier(const std::string& name) const;
    observability::AccessLog& access_log() { return access_log_; }
    cache::SharedCache& cache() { return cache_; }
    // The Redis cache store for purges, when Redis is configured; admin thread only.
    cache::RedisStore* redis_cache() { return redis_cache_.get(); }

    std::atomic<std::int64_t> in_flight{0};
    std::atomic<bool> draining{false};
    // Whether every worker can serve (its limits store is reachable); set by the server.
    std::function<bool()> workers_ready = [] { return true; };

private:
    std::shared_ptr<const config::Config> config_;
    auth::Authenticator authenticator_;
    auth::JwksRefresher jwks_refresher_;
    routing::RouteTable routes_;
    http::TrustedProxies trusted_proxies_;
    std::vector<std::unique_ptr<upstream::BackendState>> backends_;
    upstream::HealthChecker health_checker_;
    observability::Metrics metrics_;
    cache::SharedCache cache_;
    limits::LocalLimiter limiter_;
    limits::UsageLedger usage_;
    std::unique_ptr<redis::Client> admin_redis_;
    std::unique_ptr<limits::RedisUsage> redis_usage_;
    std::unique_ptr<cache::RedisStore> redis_cache_;
    observability::AccessLog access_log_;
};

}  // namespace llmgw::gateway
