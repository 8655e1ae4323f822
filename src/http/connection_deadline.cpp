// The watchdog coroutine behind ConnectionDeadline.
#include "llmgw/http/connection_deadline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llmgw::http {

ConnectionDeadline::ConnectionDeadline(tcp::socket& socket)
    : socket_(socket), timer_(socket.get_executor()) {}

void ConnectionDeadline::expires_after(clock::duration d) {
    expired_ = false;
    deadline_ = clock::now() + d;
    if (deadline_ < timer_.expiry()) timer_.expires_at(deadline_);  // wakes the watcher early
}

void ConnectionDeadline::never() {
    expired_ = false;
    deadline_ = clock::time_point::max();
}

Task<void> ConnectionDeadline::watch() {
    for (;;) {
        timer_.expires_at(deadline_);
        co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        auto state = co_await net::this_coro::cancellation_state;
        if (state.cancelled() != net::cancellation_type::none || !socket_.is_open()) co_return;
        if (deadline_ <= clock::now()) {
            expired_ = true;
            deadline_ = clock::time_point::max();
            boost::system::error_code ignored;
            socket_.cancel(ignored);
        }
    }
}

}  // namespace llmgw::http
