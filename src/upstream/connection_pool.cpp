// Connecting to endpoints and keeping their keep-alive connections per worker.
#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/upstream_request.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "llmgw/observability/metrics.hpp"
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

UpstreamConnection::UpstreamConnection(http::Executor executor)
    : stream(std::move(executor)), reader(stream.socket()), read_deadline(stream.socket()) {
    // Beast bounds an answer's head but not a chunk-size line (with its extensions) or the
    // trailers: what does not fit here fails the read (the answer is cut, 502 before its head)
    // instead of growing memory for as long as the upstream keeps sending.
    buffer.max_size(max_read_ahead_bytes);
}

UpstreamConnection::~UpstreamConnection() = default;

std::string host_header(const config::Endpoint& endpoint) {
    std::string host;
    append_host(endpoint, host);
    return host;
}

http::Task<ConnectResult> connect_endpoint(http::Executor executor,
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
            tcp::endpoint(address, endpoint.port), net::as_tuple(http::use_awaitable));
        ec = connect_ec;
    } else {
        // Name lookups run on Asio's resolver thread; the connect timeout bounds them too.
        tcp::resolver resolver(executor);
        http::Timer limit(executor, deadline);
        auto lookup = co_await (resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                       net::as_tuple(http::use_awaitable)) ||
                                limit.async_wait(net::as_tuple(http::use_awaitable)));
        if (lookup.index() == 1) co_return ConnectResult{nullptr, ConnectFailure::timeout};
        auto [resolve_ec, results] = std::get<0>(std::move(lookup));
        if (resolve_ec) co_return ConnectResult{nullptr, ConnectFailure::resolve};
        auto [connect_ec, ignored] =
            co_await connection->stream.async_connect(results, net::as_tuple(http::use_awaitable));
        ec = connect_ec;
    }
    if (ec == http::beast::error::timeout || ec == net::error::timed_out)
        co_return ConnectResult{nullptr, ConnectFailure::timeout};
    if (ec) co_return ConnectResult{nullptr, ConnectFailure::refused};
    connection->stream.socket().set_option(tcp::no_delay(true), ec);
    // For the answer's draining reads (read_hints.hpp); without it they read as Asio's.
    (void)http::enable_read_hints(connection->stream.socket().native_handle());
    connection->pool_key = pool_key(endpoint, tls);
    if (endpoint.tls && tls != nullptr) {
        connection->tls = std::make_unique<UpstreamTlsStream>(connection->stream, tls->context());
        if (!tls->prepare(connection->tls->native_handle(), endpoint.host)) {
            spdlog::warn("upstream {}: OpenSSL refuses the TLS server name", endpoint.url);
            co_return ConnectResult{nullptr, ConnectFailure::tls};
        }
        auto [handshake_ec] = co_await connection->tls->async_handshake(
            net::ssl::stream_base::client, net::as_tuple(http::use_awaitable));
        if (handshake_ec == http::beast::error::timeout)
            co_return ConnectResult{nullptr, ConnectFailure::timeout};
        if (handshake_ec) {
            spdlog::warn(
                "upstream {}: TLS handshake failed: {}", endpoint.url,
                tls::handshake_failure(connection->tls->native_handle(), handshake_ec.message()));
            co_return ConnectResult{nullptr, ConnectFailure::tls};
        }
    }
    if (!connection->tls) connection->read_deadline.start();
    co_return ConnectResult{std::move(connection)};
}

ConnectionPool::ConnectionPool(http::Executor executor, observability::Metrics* metrics)
    : executor_(std::move(executor)), metrics_(metrics), sweep_timer_(executor_) {}

ConnectionPool::~ConnectionPool() = default;

std::string pool_key(const config::Endpoint& endpoint, const tls::ClientContext* tls) {
    if (!endpoint.tls || tls == nullptr) return endpoint.url;
    return endpoint.url + "|" + tls->identity();
}

ConnectionPool::IdleList& ConnectionPool::list_for(std::string_view key) {
    if (last_list_ != nullptr && key == last_key_) return *last_list_;
    auto it = idle_.find(key);
    if (it == idle_.end()) it = idle_.emplace(std::string(key), IdleList{}).first;
    last_key_.assign(key);
    last_list_ = &it->second;
    return *last_list_;
}

std::unique_ptr<UpstreamConnection> ConnectionPool::take_idle(std::string_view key,
                                                              std::chrono::steady_clock::time_point now) {
    auto& idle = list_for(key);
    while (!idle.empty()) {
        // Most recently used first: it is the least likely to have been closed by the server.
        auto connection = std::move(idle.back());
        idle.pop_back();
        // Over TLS its readability wait stays: the answer's read queues behind it, so the
        // reactor reads once the answer is there instead of trying at once after the request's
        // write (a read that finds nothing: one system call per request). The wait then
        // completes with the answer and finds the connection no longer idle (on_readable).
        // Over plain TCP the peek goes (it would read the answer once more): the answer's read
        // is a draining one, which waits by itself when the last read drained the socket.
        const auto idle_for = now - connection->idle_since;
        // The timer may not have run yet for one past its time; a connection idle for a while
        // is probed (see probe_after_idle).
        if (now < connection->idle_until &&
            (idle_for < probe_after_idle || still_usable(*connection))) {
            connection->reused = true;
            boost::system::error_code ignored;
            if (!connection->tls) connection->stream.socket().cancel(ignored);
            return connection;
        }
        count_closed(*connection, now < connection->idle_until ? "server_closed" : "idle_timeout");
    }
    return nullptr;
}

std::unique_ptr<UpstreamConnection> ConnectionPool::take_idle(const config::Endpoint& endpoint,
                                                              tls::ClientContext* tls,
                                                              std::chrono::steady_clock::time_point now) {
    // A plain endpoint's key is its URL: looked up as it is, no string made per request.
    return endpoint.tls && tls != nullptr ? take_idle(pool_key(endpoint, tls), now)
                                          : take_idle(endpoint.url, now);
}

http::Task<ConnectionPool::Acquired> ConnectionPool::connect(const config::Endpoint& endpoint,
                                                             tls::ClientContext* tls,
                                                             std::chrono::milliseconds connect_timeout) {
    auto connected = co_await connect_endpoint(executor_, endpoint, tls, connect_timeout);
    co_return connected;
}

void ConnectionPool::release(std::unique_ptr<UpstreamConnection> connection,
                             const config::Backend& backend,
                             std::chrono::steady_clock::time_point now) {
    // Bytes beyond the answer (a server that sent a body with a HEAD answer, say) would be
    // read as the start of the next answer.
    if (connection->buffer.size() != 0) return;
    connection->backend = backend.name;  // no allocation once it holds the same name
    auto& idle = list_for(connection->pool_key);
    const auto& keepalive = backend.keepalive;
    while (!idle.empty() && idle.size() >= keepalive.max_idle) {
        count_closed(*idle.front(), "overflow");
        idle.pop_front();  // the oldest goes
    }
    if (keepalive.max_idle == 0) {
        count_closed(*connection, "overflow");
        return;
    }
    connection->idle_since = now;
    connection->idle_until = now + keepalive.idle;
    connection->idle_id = ++next_idle_id_;
    connection->stream.expires_never();
    connection->read_deadline.never();
    watch(idle, *connection);
    schedule_sweep(connection->idle_until);
    idle.push_back(std::move(connection));
}

// An idle connection always has a wait for readability pending. Readable means the server
// closed it (EOF), reset it or sent bytes nobody asked for: in every case it goes at once,
// instead of sitting in CLOSE-WAIT until a request picks it. Over TLS the wait is on the TCP
// socket (a read would take TLS records); it costs one epoll_ctl (Asio registers the socket
// again for each wait). Over plain TCP a draining peek (draining_read.hpp) waits instead,
// without a system call when the answer's last read drained the socket, and with one peek
// that catches a close that came before it when it did not.
void ConnectionPool::watch(IdleList& idle, UpstreamConnection& connection) {
    auto on_ready = [this, list = &idle, id = connection.idle_id](
                        const boost::system::error_code& ec, auto... /*peeked bytes*/) {
        on_readable(*list, id, ec);
    };
    if (connection.tls)
        connection.stream.socket().async_wait(tcp::socket::wait_read, std::move(on_ready));
    else
        connection.reader.async_peek(connection.peeked, std::move(on_ready));
}

void ConnectionPool::on_readable(IdleList& idle, std::uint64_t idle_id,
                                 const boost::system::error_code& ec) {
    // Aborted: the connection was closed (by the pool, a timeout or a hang-up), or the pool is
    // closing; it is no longer ours to touch.
    if (ec == net::error::operation_aborted) return;
    // Not found: taken for a request (its answer, or a close, completed the wait); the request
    // finds out by reading.
    const auto it = std::find_if(idle.begin(), idle.end(), [&](const auto& connection) {
        return connection->idle_id == idle_id;
    });
    if (it == idle.end()) return;
    count_closed(**it, "server_closed");
    idle.erase(it);
}

void ConnectionPool::schedule_sweep(std::chrono::steady_clock::time_point at) {
    if (sweep_scheduled_) return;
    sweep_scheduled_ = true;
    sweep_timer_.expires_at(at);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec == net::error::operation_aborted) return;  // the pool is closing
        sweep_scheduled_ = false;
        sweep();
    });
}

// Closes the connections idle past their backend's keepalive.idle, then waits for the next
// one to expire. One timer for the pool: a release never touches the timer queue while it is
// armed.
void ConnectionPool::sweep() {
    const auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto& [key, idle] : idle_) {
        std::erase_if(idle, [&](const auto& connection) {
            if (connection->idle_until > now) {
                next = std::min(next, connection->idle_until);
                return false;
            }
            count_closed(*connection, "idle_timeout");
            return true;
        });
    }
    if (next != std::chrono::steady_clock::time_point::max())
        schedule_sweep(std::max(next, now + sweep_interval));
}

void ConnectionPool::count_closed(const UpstreamConnection& connection, std::string_view reason) {
    if (metrics_ != nullptr) metrics_->upstream_connection_closed(connection.backend, reason);
}

std::size_t ConnectionPool::idle_count(const config::Endpoint& endpoint) const {
    auto it = idle_.find(endpoint.url);
    return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace llmgw::upstream
