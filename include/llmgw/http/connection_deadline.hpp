// One timer per connection that cancels (not closes) the socket's I/O when a deadline passes,
// so a client's session can still answer 408 before closing; and, while a request is handled,
// watches for the client leaving (the connection knows when its peer goes). Upstream
// connections over plain TCP bound their reads with it too (connection_pool.hpp): moving a
// deadline later costs nothing, where a timeout per read arms and cancels a timer each time.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/hang_up.hpp"

namespace llmgw::http {

class ConnectionDeadline {
public:
    using clock = std::chrono::steady_clock;

    ConnectionDeadline(tcp::socket& socket);
    ~ConnectionDeadline();
    ConnectionDeadline(const ConnectionDeadline&) = delete;
    ConnectionDeadline& operator=(const ConnectionDeadline&) = delete;

    // Moving the deadline is cheap: the timer is re-armed only when the new
    // deadline is earlier than the one it is waiting for.
    void expires_after(clock::duration d);
    void expires_at(clock::time_point at);
    void never();
    // True once the deadline passed and the socket's pending I/O was cancelled; reset by the
    // next expires_after, expires_at or never.
    bool expired() const { return expired_; }

    // From `after` on, `hang_up` fires when the client closes or resets the connection.
    // Over TLS (`poll`) the TCP state is asked every 100 ms instead: a peek cannot tell a
    // close_notify from a pipelined request, both being encrypted records. Quick requests
    // end before `after` and never pay for the watch.
    void watch_peer(HangUp& hang_up, clock::duration after, bool poll);
    void stop_watching_peer();

    // The watchdog: from start() until stop() (or the end of this object), deadlines cancel
    // the socket's I/O and the peer is watched. A timer and its handler, not a coroutine
    // beside the session's: that cost two more frames per connection (about 1.4 KiB of a
    // held stream's memory).
    void start();
    void stop();

private:
    struct Peek;
    void arm(clock::time_point at);
    void wait();
    void on_timer();
    void check_peer(clock::time_point now);

    tcp::socket& socket_;
    http::Timer timer_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
    HangUp* hang_up_ = nullptr;
    clock::time_point peer_check_at_ = clock::time_point::max();
    bool poll_peer_ = false;
    std::shared_ptr<Peek> peek_;  // the pending peek, shared with its completion handler
    bool running_ = false;
    // Cleared when this object goes: a timer's handler may run after that (it is posted).
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The client closed its side or reset the connection (asked of the kernel, without blocking).
bool peer_closed(tcp::socket& socket);

}  // namespace llmgw::http
