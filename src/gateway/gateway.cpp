// Builds the shared gateway state from a validated config.
#include "llmgw/gateway/gateway.hpp"

#include "llmgw/cache/redis_store.hpp"
#include "llmgw/limits/redis_options.hpp"

namespace llmgw::gateway {

Gateway::Gateway(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)),
      authenticator_(*config_),
      jwks_refresher_(authenticator_.url_verifiers()),
      routes_(config_->routes),
      trusted_proxies_(http::TrustedProxies::parse(config_->server.trusted_proxies, nullptr).value_or(http::TrustedProxies{})),
      health_checker_(backends_),
      cache_(config_->cache, metrics_.registry()),
      access_log_(config_->logging.access_log) {
    for (const auto& backend : config_->backends)
        backends_.push_back(std::make_unique<upstream::BackendState>(backend));
    authenticator_.on_unknown_kid(
        [this](const auth::JwtVerifier& verifier) { jwks_refresher_.unknown_kid_seen(verifier); });
}

const config::Tier* Gateway::tier(const std::string& name) const {
    for (const auto& tier : config_->tiers)
        if (tier.name == name) return &tier;
    return nullptr;
}

Gateway::~Gateway() = default;

void Gateway::stop_background_work() {
    redis_usage_.reset();
    redis_cache_.reset();
    if (admin_redis_) admin_redis_->stop();
    admin_redis_.reset();
}

void Gateway::start_background_work(http::net::any_io_executor executor) {
    if (config_->redis) {
        auto options = limits::redis_client_options(*config_->redis);
        options.timeout = std::chrono::seconds(2);  // an operator's query, not the request path
        admin_redis_ = std::make_unique<redis::Client>(executor, options);
        admin_redis_->start();
        redis_usage_ = std::make_unique<limits::RedisUsage>(*admin_redis_);
        redis_cache_ = std::make_unique<cache::RedisStore>(*admin_redis_);
    }
    jwks_refresher_.start();
    health_checker_.start(std::move(executor));
    metrics_.on_scrape([this] {
        cache_.metrics.sample(cache_.memory.bytes(), cache_.memory.entries(),
                              cache_.memory.evictions());
        const auto now = std::chrono::steady_clock::now();
        for (auto& backend : backends_)
            for (std::size_t i = 0; i < backend->size(); ++i) {
                auto& state = backend->endpoint(i);
                metrics_.endpoint_state(
                    backend->config().name, state.endpoint.url, state.healthy.load(),
                    static_cast<int>(state.breaker.state(now)), state.in_flight.load());
            }
    });
}

}  // namespace llmgw::gateway
