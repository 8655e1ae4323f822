// One coroutine per backend: GET /v1/models from its endpoints in turn, keep the last good list.
#include "llmgw/upstream/model_catalog.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "background_get.hpp"
#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/model_listing.hpp"

namespace llmgw::upstream {

namespace net = http::net;

namespace {

constexpr std::size_t max_list_bytes = 4 * 1024 * 1024;

// The list from the first endpoint that gives one (an unhealthy endpoint is skipped).
http::Task<std::optional<std::vector<nlohmann::json>>> fetch_list(
    BackendState& backend, const config::HeaderEdits* edits) {
    for (std::size_t i = 0; i < backend.size(); ++i) {
        auto& endpoint = backend.endpoint(i);
        if (!endpoint.healthy.load()) continue;
        const auto answer = co_await background_get(
            endpoint.endpoint, backend.tls(), "/v1/models",
            std::chrono::duration_cast<std::chrono::milliseconds>(ModelCatalog::fetch_timeout),
            max_list_bytes, edits);
        if (!answer || answer->status != 200) continue;
        auto models = parse_model_list(answer->body);
        if (models) co_return models;
    }
    co_return std::nullopt;
}

http::Task<void> keep_listing(std::shared_ptr<BackendState> owner,
                                  std::optional<config::HeaderEdits> edits) {
    http::Timer timer(co_await net::this_coro::executor);
    bool failing = false;
    for (;;) {
        auto models = co_await fetch_list(*owner, edits ? &*edits : nullptr);
        if (models) {
            owner->models.replace(std::move(*models));
            failing = false;
        } else if (!failing) {
            failing = true;  // said once per outage; the last good list stays
            spdlog::warn("backend {}: no endpoint answered GET /v1/models", owner->config().name);
        }
        timer.expires_after(models ? std::chrono::seconds(ModelCatalog::refresh_interval)
                                   : std::chrono::seconds(ModelCatalog::retry_interval));
        auto [ec] = co_await timer.async_wait(net::as_tuple(http::use_awaitable));
        if (ec || owner->retired.load()) co_return;
    }
}

// The headers.set (and remove) of the first route to backend `index`, if any route uses it.
std::optional<config::HeaderEdits> edits_for(const config::Config& config, std::size_t index) {
    for (const auto& route : config.routes)
        if (route.backend == index) return route.headers;
    return std::nullopt;
}

}  // namespace

std::shared_ptr<const std::vector<nlohmann::json>> ModelCatalog::models() const {
    const std::scoped_lock lock(mutex_);
    return models_;
}

void ModelCatalog::replace(std::vector<nlohmann::json> models) {
    auto fresh = std::make_shared<const std::vector<nlohmann::json>>(std::move(models));
    const std::scoped_lock lock(mutex_);
    models_ = std::move(fresh);
}

std::optional<std::vector<nlohmann::json>> parse_model_list(std::string_view body) {
    const auto value = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!value.is_object()) return std::nullopt;
    const auto data = value.find("data");
    if (data == value.end() || !data->is_array()) return std::nullopt;
    std::vector<nlohmann::json> models;
    for (const auto& entry : *data)
        if (entry.is_object() && entry.contains("id") && entry["id"].is_string())
            models.push_back(entry);
    return models;
}

void start_model_listing(http::Executor executor,
                         const std::vector<std::shared_ptr<BackendState>>& backends,
                         const config::Config& config) {
    const bool wanted = std::any_of(config.routes.begin(), config.routes.end(), [](const auto& r) {
        return r.models == config::Route::Models::gateway;
    });
    if (!wanted) return;
    for (std::size_t i = 0; i < backends.size(); ++i) {
        if (backends[i]->models.listing.exchange(true)) continue;
        net::co_spawn(executor, keep_listing(backends[i], edits_for(config, i)), net::detached);
    }
}

}  // namespace llmgw::upstream
