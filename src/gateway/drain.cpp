// The drain's waiter sleeps until its deadline; the last request to end wakes it early.
#include "llmgw/gateway/drain.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llmgw::gateway {

namespace net = http::net;

void Drain::release() {
    if (in_flight_.fetch_sub(1) != 1 || !draining()) return;
    std::lock_guard lock(waiter_mutex_);
    if (waiter_ == nullptr) return;
    // The timer belongs to the waiter's thread: the wake-up is posted there, and finds the
    // timer only while the waiter still waits (it may have ended meanwhile).
    net::post(waiter_->get_executor(), [this] {
        std::lock_guard lock(waiter_mutex_);
        if (waiter_ != nullptr) waiter_->cancel();
    });
}

http::Task<bool> Drain::drain(std::chrono::milliseconds timeout) {
    http::Timer deadline(co_await net::this_coro::executor, timeout);
    {
        std::lock_guard lock(waiter_mutex_);
        waiter_ = &deadline;
        draining_ = true;
    }
    if (in_flight_.load() > 0) co_await deadline.async_wait(net::as_tuple(http::use_awaitable));
    {
        std::lock_guard lock(waiter_mutex_);
        waiter_ = nullptr;
    }
    co_return in_flight_.load() == 0;
}

}  // namespace llmgw::gateway
