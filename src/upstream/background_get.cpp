// One GET on a fresh connection (TLS for https://), as health checks and model lists make it.
#include "background_get.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/upstream_request.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace bhttp = http::beast::http;

http::Task<std::optional<BackgroundAnswer>> background_get(
    const config::Endpoint& endpoint, tls::ClientContext* tls, const std::string& path,
    std::chrono::milliseconds timeout, std::size_t body_limit, const config::HeaderEdits* edits) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto executor = co_await net::this_coro::executor;
    auto connected = co_await connect_endpoint(executor, endpoint, tls, timeout);
    if (!connected.connection) co_return std::nullopt;
    auto& connection = *connected.connection;
    connection.stream.expires_at(deadline);
    http::Request request(bhttp::verb::get, path, 11);
    if (edits != nullptr) apply_header_edits(request, *edits);
    request.set(bhttp::field::host, host_header(endpoint));
    request.set(bhttp::field::user_agent, "llmgw");
    request.keep_alive(false);
    auto [write_ec, written] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_write(s, request, net::as_tuple(http::use_awaitable));
    });
    if (write_ec) co_return std::nullopt;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::max<std::size_t>(body_limit, 64 * 1024));
    auto [read_ec, read] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_read(s, connection.buffer, parser, net::as_tuple(http::use_awaitable));
    });
    // A TLS server may end a close-delimited body without close_notify: what came is whole.
    const bool truncated = read_ec == net::ssl::error::stream_truncated && parser.is_header_done();
    if (read_ec && !truncated) co_return std::nullopt;
    BackgroundAnswer answer{parser.get().result_int(), {}};
    if (body_limit > 0 && !truncated) answer.body = std::move(parser.get().body());
    co_return answer;
}

}  // namespace llmgw::upstream
