// A worker's keep-alive connections to upstream endpoints. Owned by one worker thread: no locks.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>
#include <utility>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::upstream {

struct UpstreamConnection {
    explicit UpstreamConnection(http::net::any_io_executor executor)
        : stream(std::move(executor)) {}
    http::beast::tcp_stream stream;
    http::beast::flat_buffer buffer;
    bool reused = false;  // came from the pool rather than a fresh connect
    std::chrono::steady_clock::time_point idle_since{};
};

enum class ConnectFailure { none, refused, timeout, resolve };

// The Host header for an endpoint: host[:port], IPv6 addresses in brackets.
std::string host_header(const config::Endpoint& endpoint);

class ConnectionPool {
public:
    // Idle connections older than this are closed rather than reused: servers such as
    // uvicorn (vLLM) close idle keep-alive connections after 5 s, and reusing one that
    // the server is closing fails the request.
    static constexpr auto max_idle_age = std::chrono::seconds(4);
    static constexpr std::size_t max_idle_per_endpoint = 256;
    static constexpr auto probe_after_idle = std::chrono::milliseconds(1000);

    explicit ConnectionPool(http::net::any_io_executor executor);

    struct Acquired {
        std::unique_ptr<UpstreamConnection> connection;
        ConnectFailure failure = ConnectFailure::none;
    };
    // An idle pooled connection if one is usable (unless `fresh`), else a new one.
    http::Task<Acquired> acquire(const config::Endpoint& endpoint,
                                 std::chrono::milliseconds connect_timeout, bool fresh = false);
    // Returns a connection whose last exchange ended cleanly and may be reused.
    void release(const config::Endpoint& endpoint, std::unique_ptr<UpstreamConnection> connection);

    std::size_t idle_count(const config::Endpoint& endpoint) const;
    const http::net::any_io_executor& executor() const { return executor_; }

private:
    std::unique_ptr<UpstreamConnection> take_idle(const config::Endpoint& endpoint);

    http::net::any_io_executor executor_;
    // By URL, not by Endpoint object: a reload makes new Endpoint objects for the same
    // servers, and their idle connections stay usable.
    std::unordered_map<std::string, std::deque<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace llmgw::upstream
