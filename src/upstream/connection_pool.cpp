// Connecting to endpoints and keeping their keep-alive connections per worker.
#include "llmgw/upstream/connection_pool.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "llmgw/tls/client_context.hpp"

namespace llmgw::upstream {

namespace net = http::net;
using http::tcp;
using namespace net::experimental::awaitable_operators;

namespace {
// A pooled connection is usable only if the server has neither closed it nor sent
// anything unasked (which would be garbage in front of the next answer; over TLS, a
// close_notify).
bool still_usable(UpstreamConnection& connection) {
    auto& socket = connection.stream.socket();
    if (!socket.is_open() || connection.buffer.size() != 0) return false;
    char byte;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

UpstreamConnection::UpstreamConnection(net::any_io_executor executor)
    : stream(std::move(executor)) {
    // Beast bounds an answer's head but not a chunk-size line (with its extensions) or the
    // trailers: what does not fit here fails the read (the answer is cut, 502 before its head)
    // instead of growing memory for as long as the upstream keeps sending.
    buffer.max_size(max_read_ahead_bytes);
}

UpstreamConnection::~UpstreamConnection() = default;

std::string host_header(const config::Endpoint& endpoint) {
    const bool ipv6 = endpoint.host.find(':') != std::string::npos;
    const auto host = ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
    const auto default_port = endpoint.tls ? 443 : 80;
    return endpoint.port == default_port ? host : host + ":" + std::to_string(endpoint.port);
}

http::Task<ConnectResult> connect_endpoint(net::any_io_executor executor,
                                           const config::Endpoint& endpoint,
                                           tls::ClientContext* tls,
                                           std::chrono::milliseconds timeout) {
    auto connection = std::make_unique<UpstreamConnection>(executor);
    boost::system::error_code ec;
    const auto address = net::ip::make_address(endpoint.host, ec);
    // One deadline for the lookup, the connect and the handshake.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    connection->stream.expires_at(deadline);
    if (!ec) {
        auto [connect_ec] = co_await connection->stream.async_connect(
            tcp::endpoint(address, endpoint.port), net::as_tuple(net::use_awaitable));
        ec = connect_ec;
    } else {
        // Name lookups run on Asio's resolver thread; the connect timeout bounds them too.
        tcp::resolver resolver(executor);
        net::steady_timer limit(executor, deadline);
        auto lookup = co_await (resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                       net::as_tuple(net::use_awaitable)) ||
                                limit.async_wait(net::as_tuple(net::use_awaitable)));
        if (lookup.index() == 1) co_return ConnectResult{nullptr, ConnectFailure::timeout};
        auto [resolve_ec, results] = std::get<0>(std::move(lookup));
        if (resolve_ec) co_return ConnectResult{nullptr, ConnectFailure::resolve};
        auto [connect_ec, ignored] =
            co_await connection->stream.async_connect(results, net::as_tuple(net::use_awaitable));
        ec = connect_ec;
    }
    if (ec == http::beast::error::timeout || ec == net::error::timed_out)
        co_return ConnectResult{nullptr, ConnectFailure::timeout};
    if (ec) co_return ConnectResult{nullptr, ConnectFailure::refused};
    connection->stream.socket().set_option(tcp::no_delay(true), ec);
    connection->pool_key = pool_key(endpoint, tls);
    if (endpoint.tls && tls != nullptr) {
        connection->tls = std::make_unique<UpstreamTlsStream>(connection->stream, tls->context());
        if (!tls->prepare(connection->tls->native_handle(), endpoint.host)) {
            spdlog::warn("upstream {}: OpenSSL refuses the TLS server name", endpoint.url);
            co_return ConnectResult{nullptr, ConnectFailure::tls};
        }
        auto [handshake_ec] = co_await connection->tls->async_handshake(
            net::ssl::stream_base::client, net::as_tuple(net::use_awaitable));
        if (handshake_ec == http::beast::error::timeout)
            co_return ConnectResult{nullptr, ConnectFailure::timeout};
        if (handshake_ec) {
            spdlog::warn(
                "upstream {}: TLS handshake failed: {}", endpoint.url,
                tls::handshake_failure(connection->tls->native_handle(), handshake_ec.message()));
            co_return ConnectResult{nullptr, ConnectFailure::tls};
        }
    }
    co_return ConnectResult{std::move(connection)};
}

ConnectionPool::ConnectionPool(net::any_io_executor executor) : executor_(std::move(executor)) {}

std::string pool_key(const config::Endpoint& endpoint, const tls::ClientContext* tls) {
    if (!endpoint.tls || tls == nullptr) return endpoint.url;
    return endpoint.url + "|" + tls->identity();
}

std::unique_ptr<UpstreamConnection> ConnectionPool::take_idle(std::string_view key) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& idle = it->second;
    const auto now = std::chrono::steady_clock::now();
    while (!idle.empty()) {
        // Most recently used first: it is the least likely to have been closed by the server.
        auto connection = std::move(idle.back());
        idle.pop_back();
        const auto idle_for = now - connection->idle_since;
        // A connection used a moment ago is checked only by its use (a failure before any
        // answer is retried on a fresh one); older ones are probed first, one system call.
        if (idle_for < max_idle_age && (idle_for < probe_after_idle || still_usable(*connection))) {
            connection->reused = true;
            return connection;
        }
    }
    return nullptr;
}

http::Task<ConnectionPool::Acquired> ConnectionPool::acquire(
    const config::Endpoint& endpoint, tls::ClientContext* tls,
    std::chrono::milliseconds connect_timeout, bool fresh) {
    if (!fresh) {
        // A plain endpoint's key is its URL: looked up as it is, no string made per request.
        auto connection = endpoint.tls && tls != nullptr ? take_idle(pool_key(endpoint, tls))
                                                         : take_idle(endpoint.url);
        if (connection) co_return Acquired{std::move(connection)};
    }
    auto connected = co_await connect_endpoint(executor_, endpoint, tls, connect_timeout);
    co_return connected;
}

void ConnectionPool::release(std::unique_ptr<UpstreamConnection> connection) {
    // Bytes beyond the answer (a server that sent a body with a HEAD answer, say) would be
    // read as the start of the next answer.
    if (connection->buffer.size() != 0) return;
    auto& idle = idle_[connection->pool_key];
    if (idle.size() >= max_idle_per_endpoint) {
        idle.pop_front();  // the oldest goes
    }
    connection->idle_since = std::chrono::steady_clock::now();
    connection->stream.expires_never();
    idle.push_back(std::move(connection));
}

std::size_t ConnectionPool::idle_count(const config::Endpoint& endpoint) const {
    auto it = idle_.find(endpoint.url);
    return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace llmgw::upstream
