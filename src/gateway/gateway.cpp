// Builds the shared gateway state from a validated config, and swaps configs on reload.
#include "llmgw/gateway/gateway.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "llmgw/config/loader.hpp"
#include "llmgw/config/schema.hpp"
#include "llmgw/gateway/redis_options.hpp"
#include "llmgw/observability/app_log.hpp"
#include "llmgw/upstream/backend_queue.hpp"
#include "llmgw/upstream/engine_scraper.hpp"
#include "llmgw/upstream/health_checker.hpp"
#include "llmgw/upstream/model_listing.hpp"

namespace llmgw::gateway {

Gateway::Gateway(std::shared_ptr<const config::Config> config, std::string config_path)
    : startup_config_(config),
      config_path_(std::move(config_path)),
      catalog_(config->store ? std::make_unique<store::Catalog>(*config->store) : nullptr),
      current_(std::make_shared<Snapshot>(config, 1, nullptr, directory())),
      cache_(config->cache, metrics_.registry()),
      access_log_(config->logging.access_log),
      server_tls_(config->server.tls ? std::make_unique<tls::ServerContext>(*config->server.tls)
                                     : nullptr) {
    if (config->redis) redis_options_ = gateway::redis_options(*config);
}

Gateway::~Gateway() = default;

const store::DirectorySource* Gateway::directory() const {
    return catalog_ ? &catalog_->directory() : nullptr;
}

void Gateway::stop_background_work() {
    fleet_.stop();
    redis_usage_.reset();
    redis_cache_.reset();
    if (admin_redis_) admin_redis_->stop();
    admin_redis_.reset();
}

void Gateway::start_background_work(http::Executor executor) {
    if (startup_config_->redis) {
        auto options = *redis_options_;
        options.timeout = std::chrono::seconds(2);  // an operator's query, not the request path
        admin_redis_ = std::make_unique<redis::Client>(executor, options);
        admin_redis_->start();
        redis_usage_ = std::make_unique<limits::RedisUsage>(*admin_redis_);
        redis_cache_ = std::make_unique<cache::RedisStore>(*admin_redis_);
        // What each instance enforces alone while Redis is away depends on how many there are.
        if (startup_config_->redis->failure_mode == config::RedisConfig::FailureMode::open)
            fleet_.start(*admin_redis_, executor);
    }
    background_ = executor;
    auto snapshot = current_.load();
    snapshot->start_jwks();
    upstream::start_health_checks(executor, snapshot->backends());
    upstream::start_model_listing(executor, snapshot->backends(), snapshot->config());
    upstream::start_engine_scrapes(executor, snapshot->backends());
    if (fleet_.running()) metrics_.on_scrape([this] { metrics_.limits().fleet_size(fleet_.live()); });
    metrics_.on_scrape([this] {
        if (catalog_)
            metrics_.store_state(catalog_->reachable(),
                                 static_cast<double>(catalog_->since_sync().count()),
                                 static_cast<double>(catalog_->usage().rows()),
                                 catalog_->usage().dropped());
        cache_.metrics.sample(cache_.memory.bytes(), cache_.memory.entries(),
                              cache_.memory.evictions());
        const auto now = std::chrono::steady_clock::now();
        for (const auto& backend : this->snapshot()->backends())
            for (std::size_t i = 0; i < backend->size(); ++i) {
                auto& state = backend->endpoint(i);
                metrics_.endpoint_state(
                    backend->config().name, state.endpoint.url, state.healthy.load(),
                    static_cast<int>(state.breaker.state(now)), state.in_flight.load());
            }
        sample_routing(now);
    });
}

void Gateway::sample_routing(std::chrono::steady_clock::time_point now) {
    for (const auto& backend : snapshot()->backends()) {
        const auto& settings = backend->config();
        if (auto* queue = backend->queue())
            for (const auto& [priority, waiting] : queue->depths())
                metrics_.queue().depth(settings.name, priority, waiting);
        if (settings.affinity)
            routing_metrics_.affinity(settings.name, backend->affinity_hits.exchange(0),
                                      backend->affinity_spills.exchange(0));
        if (settings.engine == config::EngineKind::none) continue;
        for (std::size_t i = 0; i < backend->size(); ++i) {
            auto& state = backend->endpoint(i);
            const auto figures = state.engine.last();
            routing_metrics_.engine(settings.name, state.endpoint.url,
                                    {figures.waiting, figures.running, figures.kv_usage,
                                     state.engine.age_seconds(now), state.engine.take_failures()});
        }
    }
}

ReloadOutcome Gateway::reload() {
    ReloadOutcome outcome;
    outcome.version = current_.load()->version();
    if (config_path_.empty()) {
        outcome.error = "this gateway was not started from a file";
        return outcome;
    }
    std::shared_ptr<const config::Config> loaded;
    try {
        loaded = std::make_shared<const config::Config>(config::load_file(config_path_));
    } catch (const config::ConfigError& e) {
        outcome.error = e.what();
        spdlog::error("reload refused, the running configuration stays: {}", outcome.error);
        return outcome;
    }
    try {
        return apply(std::move(loaded));
    } catch (const std::exception& e) {
        // Building what the config names can still fail (an unreadable JWKS file, say).
        outcome.error = e.what();
        spdlog::error("reload refused, the running configuration stays: {}", outcome.error);
        return outcome;
    }
}

ReloadOutcome Gateway::apply(std::shared_ptr<const config::Config> config) {
    const auto previous = current_.load();
    ReloadOutcome outcome;
    outcome.restart_required = config::restart_required(*startup_config_, *config);
    // The certificate and key are read again (renewed files at the same paths included);
    // unusable ones refuse the whole reload before anything changed.
    std::shared_ptr<tls::SslContext> next_tls;
    if (server_tls_ && config->server.tls) next_tls = tls::make_server_context(*config->server.tls);
    auto next = std::make_shared<Snapshot>(config, previous->version() + 1, previous.get(),
                                           directory());
    next->start_jwks();
    if (background_) {
        upstream::start_health_checks(*background_, next->new_backends());
        upstream::start_model_listing(*background_, next->backends(), next->config());
        upstream::start_engine_scrapes(*background_, next->new_backends());
    }
    // Backends that did not carry over stop their health checks; requests in flight on the
    // old snapshot still use them until they end.
    for (const auto& old : previous->backends()) {
        const auto& kept = next->backends();
        if (std::find(kept.begin(), kept.end(), old) == kept.end()) old->retired = true;
    }
    // Cached answers of routes that changed (or went) may no longer be what the route
    // would answer; unchanged routes keep theirs.
    for (const auto& route : previous->config().routes) {
        if (!route.cache) continue;
        const auto& routes = config->routes;
        const auto same = std::find(routes.begin(), routes.end(), route);
        if (same == routes.end()) cache_.memory.purge(std::string_view(route.name));
    }
    observability::set_app_log_level(config->logging.level);
    current_.store(next, std::memory_order_release);
    if (next_tls) server_tls_->install(std::move(next_tls));  // new connections only
    // Drop the snapshots nobody uses any more; the rest wait for their requests to end.
    retired_.push_back(previous);
    std::erase_if(retired_, [](const auto& snapshot) { return snapshot.use_count() == 1; });
    outcome.ok = true;
    outcome.version = next->version();
    if (outcome.restart_required.empty())
        spdlog::info("configuration reloaded (version {})", outcome.version);
    else {
        std::string fields;
        for (const auto& field : outcome.restart_required)
            fields += (fields.empty() ? "" : ", ") + field;
        spdlog::warn("configuration reloaded (version {}); these changes need a restart: {}",
                     outcome.version, fields);
    }
    return outcome;
}

}  // namespace llmgw::gateway
