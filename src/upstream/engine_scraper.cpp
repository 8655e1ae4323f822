// One coroutine per scraped endpoint: GET the metrics path, read the engine's figures.
#include "llmgw/upstream/engine_scraper.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/engine_figures.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;

config::Endpoint metrics_endpoint(const config::Endpoint& endpoint,
                                  const config::EngineMetricsConfig& settings) {
    auto target = endpoint;
    if (settings.port != 0) target.port = settings.port;
    const bool ipv6 = target.host.find(':') != std::string::npos;
    target.url = std::string(target.tls ? "https://" : "http://") +
                 (ipv6 ? "[" + target.host + "]" : target.host) + ":" +
                 std::to_string(target.port) + settings.path;
    return target;
}

namespace {

// One scrape on a fresh connection, bounded in time (the whole exchange) and size; the
// figures when the answer is a 200 that carries at least one of them.
http::Task<std::optional<EngineFigures>> scrape_once(const config::Endpoint& endpoint,
                                                         tls::ClientContext* tls,
                                                         const config::Backend& backend) {
    const auto& settings = backend.engine_metrics;
    const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
    auto executor = co_await net::this_coro::executor;
    auto connected = co_await connect_endpoint(executor, endpoint, tls, settings.timeout);
    if (!connected.connection) co_return std::nullopt;
    auto& connection = *connected.connection;
    connection.stream.expires_at(deadline);
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, settings.path, 11);
    request.set(bhttp::field::host, host_header(endpoint));
    request.set(bhttp::field::user_agent, "llmgw-engine-metrics");
    request.set(bhttp::field::accept, "text/plain");
    request.keep_alive(false);
    auto [write_ec, written] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_write(s, request, net::as_tuple(http::use_awaitable));
    });
    if (write_ec) co_return std::nullopt;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_metrics_body);
    auto [read_ec, read] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_read(s, connection.buffer, parser, net::as_tuple(http::use_awaitable));
    });
    if (read_ec && !(read_ec == net::ssl::error::stream_truncated && parser.is_done()))
        co_return std::nullopt;
    if (parser.get().result_int() != 200) co_return std::nullopt;
    auto figures = read_engine_figures(backend.engine, parser.get().body());
    if (!figures.any()) co_return std::nullopt;
    co_return figures;
}

http::Task<void> keep_scraping(std::shared_ptr<BackendState> owner, std::size_t index) {
    const auto& backend = owner->config();
    auto& state = owner->endpoint(index);
    const auto target = metrics_endpoint(state.endpoint, backend.engine_metrics);
    http::Timer timer(co_await net::this_coro::executor);
    unsigned failures = 0;  // in a row: logged when a streak starts and when it ends
    for (;;) {
        auto figures = co_await scrape_once(target, owner->tls(), backend);
        if (figures) {
            state.engine.store(*figures, std::chrono::steady_clock::now());
            if (failures > 0)
                spdlog::info("backend {}: endpoint {} engine metrics readable again", backend.name,
                             state.endpoint.url);
            failures = 0;
        } else {
            state.engine.scrape_failed();
            if (failures++ == 0)
                spdlog::warn(
                    "backend {}: endpoint {} engine metrics unreadable at {}: balancing on the "
                    "gateway's own counts until they are",
                    backend.name, state.endpoint.url, target.url);
        }
        timer.expires_after(backend.engine_metrics.interval);
        auto [ec] = co_await timer.async_wait(net::as_tuple(http::use_awaitable));
        if (ec || owner->retired.load()) co_return;
    }
}

}  // namespace

void start_engine_scrapes(http::Executor executor,
                          const std::vector<std::shared_ptr<BackendState>>& backends) {
    for (const auto& backend : backends) {
        if (backend->config().engine == config::EngineKind::none) continue;
        for (std::size_t i = 0; i < backend->size(); ++i)
            net::co_spawn(executor, keep_scraping(backend, i), net::detached);
    }
}

}  // namespace llmgw::upstream
