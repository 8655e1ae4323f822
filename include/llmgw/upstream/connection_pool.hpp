// A worker's keep-alive connections to upstream endpoints. Owned by one worker thread: no locks.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/connection_deadline.hpp"
#include "llmgw/http/draining_read.hpp"

namespace llmgw::tls {
class ClientContext;
}
namespace llmgw::observability {
class Metrics;
}

namespace llmgw::upstream {

// TLS over the connection's tcp_stream, whose timeouts bound the TLS operations too.
using UpstreamTlsStream = http::net::ssl::stream<http::TcpStream&>;

struct UpstreamConnection {
    // Bytes read ahead of what the parser consumed, at most (see the constructor).
    static constexpr std::size_t max_read_ahead_bytes = 1024 * 1024;

    explicit UpstreamConnection(http::Executor executor);
    ~UpstreamConnection();
    http::TcpStream stream;
    std::unique_ptr<UpstreamTlsStream> tls;  // https:// endpoints: read and write through it
    // Plain TCP reads the answer with reads that drain the socket (draining_read.hpp), so the
    // read after a short one waits for readability instead of trying at once, under one
    // deadline for the connection's life (armed again only when a deadline moves earlier).
    // TLS reads through `tls` under the stream's timeouts.
    http::DrainingReader reader;
    http::ConnectionDeadline read_deadline;
    char peeked = 0;  // where the idle watch's peek puts the byte it saw (ConnectionPool::watch)
    http::beast::flat_buffer buffer;
    std::string head;  // the request head written last, its storage kept for the next one
    bool reused = false;   // came from the pool rather than a fresh connect
    std::string pool_key;  // which idle list it returns to: see pool_key()
    // While pooled: since when, until when (the backend's keepalive.idle), which wait on the
    // socket is its own (see ConnectionPool::watch), and the backend named in metrics.
    std::chrono::steady_clock::time_point idle_since{};
    std::chrono::steady_clock::time_point idle_until{};
    std::uint64_t idle_id = 0;
    std::string backend;
};

// Runs `io` (a generic lambda starting one operation) on the connection's stream: TLS for
// https:// endpoints, else the TCP stream. Callers include <boost/asio/ssl/stream.hpp>.
template <typename Io>
auto on_stream(UpstreamConnection& connection, Io&& io) {
    return connection.tls ? io(*connection.tls) : io(connection.stream);
}

// `tls`: the handshake failed (certificate verification included).
enum class ConnectFailure { none, refused, timeout, resolve, tls };

// The Host header for an endpoint: host[:port], IPv6 addresses in brackets.
std::string host_header(const config::Endpoint& endpoint);

// The idle list of connections to `endpoint`: its URL, and for TLS how the server was
// verified, so a connection checked for one name or CA never serves a backend that asks
// for another.
std::string pool_key(const config::Endpoint& endpoint, const tls::ClientContext* tls);

struct ConnectResult {
    std::unique_ptr<UpstreamConnection> connection;
    ConnectFailure failure = ConnectFailure::none;
};
// A new connection to `endpoint` (TLS with `tls` for https://), all within `timeout`:
// name lookup, TCP connect and the TLS handshake.
http::Task<ConnectResult> connect_endpoint(http::Executor executor,
                                           const config::Endpoint& endpoint,
                                           tls::ClientContext* tls,
                                           std::chrono::milliseconds timeout);

class ConnectionPool {
public:
    // A connection idle this long is probed (one system call) before it is reused: over TLS
    // the readability wait misses a close that arrived between the answer's last read and the
    // start of the wait (Asio's edge-triggered epoll reports it to nobody); over plain TCP the
    // peek sees a FIN, but not a reset that came in the same event as the answer's last bytes.
    static constexpr auto probe_after_idle = std::chrono::milliseconds(1000);
    // The idle timer fires at most this often, however many connections expire.
    static constexpr auto sweep_interval = std::chrono::milliseconds(100);

    // `metrics`, when set, counts the connections the pool closes.
    explicit ConnectionPool(http::Executor executor,
                            observability::Metrics* metrics = nullptr);
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    using Acquired = ConnectResult;
    // An idle pooled connection to `endpoint`, if one is usable at `now` (the caller's last
    // clock read): taken at once, without a trip through a coroutine (the steady state of a
    // busy route).
    std::unique_ptr<UpstreamConnection> take_idle(const config::Endpoint& endpoint,
                                                  tls::ClientContext* tls,
                                                  std::chrono::steady_clock::time_point now);
    // A new connection (over TLS with `tls` for an https:// endpoint).
    http::Task<Acquired> connect(const config::Endpoint& endpoint, tls::ClientContext* tls,
                                 std::chrono::milliseconds connect_timeout);
    // Returns a connection whose last exchange ended cleanly and may be reused (to the idle
    // list it was made for), kept as `backend.keepalive` says: closed after `idle`, the oldest
    // closed beyond `max_idle`, and closed at once when the server closes it or sends anything.
    // Idle from `now` (the caller's last clock read).
    void release(std::unique_ptr<UpstreamConnection> connection, const config::Backend& backend,
                 std::chrono::steady_clock::time_point now);

    std::size_t idle_count(const config::Endpoint& endpoint) const;
    const http::Executor& executor() const { return executor_; }

private:
    using IdleList = std::deque<std::unique_ptr<UpstreamConnection>>;
    std::unique_ptr<UpstreamConnection> take_idle(std::string_view key,
                                                  std::chrono::steady_clock::time_point now);
    // The idle list of `key`, made when there is none. The one asked for last is kept: a
    // worker's requests nearly always go where the one before went, and a key compares in
    // fewer instructions than it hashes (a take and a release per request).
    IdleList& list_for(std::string_view key);
    void watch(IdleList& idle, UpstreamConnection& connection);
    void on_readable(IdleList& idle, std::uint64_t idle_id, const boost::system::error_code& ec);
    void schedule_sweep(std::chrono::steady_clock::time_point at);
    void sweep();
    void count_closed(const UpstreamConnection& connection, std::string_view reason);

    // Lets the idle map be searched with a string_view: no key string per request.
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const {
            return std::hash<std::string_view>{}(key);
        }
    };

    http::Executor executor_;
    observability::Metrics* metrics_;
    // By pool_key (the URL), not by Endpoint object: a reload makes new Endpoint objects for
    // the same servers, and their idle connections stay usable. Lists are never erased, so a
    // pending wait may point at its list.
    std::unordered_map<std::string, IdleList, KeyHash, std::equal_to<>> idle_;
    std::string last_key_;
    IdleList* last_list_ = nullptr;  // idle_'s list of last_key_ (a map's values stay put)
    http::Timer sweep_timer_;
    bool sweep_scheduled_ = false;
    std::uint64_t next_idle_id_ = 0;
};

}  // namespace llmgw::upstream
