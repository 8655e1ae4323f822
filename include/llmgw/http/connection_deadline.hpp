// One timer per client connection that cancels (not closes) the socket's I/O when a
// deadline passes, so the session can still answer 408 before closing.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

class ConnectionDeadline {
public:
    using clock = std::chrono::steady_clock;

    ConnectionDeadline(tcp::socket& socket);

    // Moving the deadline is cheap: the timer is re-armed only when the new
    // deadline is earlier than the one it is waiting for.
    void expires_after(clock::duration d);
    void never();
    // True once the deadline passed and the socket's pending I/O was cancelled;
    // reset by the next expires_after.
    bool expired() const { return expired_; }

    // Runs for the life of the connection; ends when cancelled.
    Task<void> watch();

private:
    tcp::socket& socket_;
    net::steady_timer timer_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
};

}  // namespace llmgw::http
