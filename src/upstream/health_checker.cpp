// One coroutine per checked endpoint: GET the health path, count passes and failures.
#include "llmgw/upstream/health_checker.hpp"

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

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;
using http::tcp;

namespace {

// One check on a fresh connection (TLS for https://): passes on a 2xx answer within the timeout.
net::awaitable<bool> check_once(const config::Endpoint& endpoint, tls::ClientContext* tls,
                                const config::HealthCheck& check) {
    const auto deadline = std::chrono::steady_clock::now() + check.timeout;
    auto executor = co_await net::this_coro::executor;
    auto connected = co_await connect_endpoint(executor, endpoint, tls, check.timeout);
    if (!connected.connection) co_return false;
    auto& connection = *connected.connection;
    connection.stream.expires_at(deadline);
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, check.path, 11);
    request.set(bhttp::field::host, host_header(endpoint));
    request.set(bhttp::field::user_agent, "llmgw-health-check");
    request.keep_alive(false);
    auto [write_ec, written] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_write(s, request, net::as_tuple(net::use_awaitable));
    });
    if (write_ec) co_return false;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [read_ec, read] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_read(s, connection.buffer, parser, net::as_tuple(net::use_awaitable));
    });
    // The head is what counts; a TLS server may end a close-delimited body without close_notify.
    if (read_ec && !(read_ec == net::ssl::error::stream_truncated && parser.is_header_done()))
        co_return false;
    const auto status = parser.get().result_int();
    co_return status >= 200 && status < 300;
}

net::awaitable<void> keep_checking(std::shared_ptr<BackendState> owner, std::size_t index) {
    const auto& backend = owner->config().name;
    const auto& check = *owner->config().health_check;
    auto& state = owner->endpoint(index);
    net::steady_timer timer(co_await net::this_coro::executor);
    unsigned passes = 0;
    unsigned failures = 0;
    for (;;) {
        const bool passed = co_await check_once(state.endpoint, owner->tls(), check);
        passes = passed ? passes + 1 : 0;
        failures = passed ? 0 : failures + 1;
        const bool healthy = state.healthy.load();
        if (healthy && failures >= check.unhealthy_after) {
            state.healthy = false;
            spdlog::warn(
                "backend {}: endpoint {} failed {} health checks: no more traffic until it "
                "recovers",
                backend, state.endpoint.url, failures);
        } else if (!healthy && passes >= check.healthy_after) {
            state.healthy = true;
            spdlog::info("backend {}: endpoint {} is healthy again", backend, state.endpoint.url);
        }
        timer.expires_after(check.interval);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || owner->retired.load()) co_return;
    }
}

}  // namespace

void start_health_checks(net::any_io_executor executor,
                         const std::vector<std::shared_ptr<BackendState>>& backends) {
    for (const auto& backend : backends) {
        if (!backend->config().health_check) continue;
        for (std::size_t i = 0; i < backend->size(); ++i)
            net::co_spawn(executor, keep_checking(backend, i), net::detached);
    }
}

}  // namespace llmgw::upstream
