// Flights of identical requests. Followers may run on other workers: each waits on a timer of
// its own executor, and the leader wakes it by posting the timer's cancel to that executor.
#include "llmgw/cache/coalescer.hpp"

#include "llmgw/http/beast.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llmgw::cache {

namespace net = boost::asio;

struct Coalescer::Flight {
    std::mutex mutex;
    bool landed = false;
    std::vector<std::function<void()>> wake;
};

Coalescer::Lead& Coalescer::Lead::operator=(Lead&& other) noexcept {
    if (this != &other) {
        land();
        owner_ = std::exchange(other.owner_, nullptr);
        key_ = std::move(other.key_);
    }
    return *this;
}

void Coalescer::Lead::land() {
    if (owner_ == nullptr) return;
    std::exchange(owner_, nullptr)->land(key_);
}

Coalescer::Joined Coalescer::join(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto [it, first] = flights_.try_emplace(key);
    if (!first) return Joined{Lead{}, it->second};
    it->second = std::make_shared<Flight>();
    return Joined{Lead{this, key}, nullptr};
}

void Coalescer::land(const std::string& key) {
    std::shared_ptr<Flight> flight;
    {
        std::lock_guard lock(mutex_);
        const auto it = flights_.find(key);
        if (it == flights_.end()) return;
        flight = std::move(it->second);
        flights_.erase(it);
    }
    std::vector<std::function<void()>> wake;
    {
        std::lock_guard lock(flight->mutex);
        flight->landed = true;
        wake.swap(flight->wake);
    }
    for (auto& follower : wake) follower();
}

http::Task<bool> Coalescer::wait(std::shared_ptr<Flight> flight,
                                     std::chrono::milliseconds limit) {
    auto executor = co_await net::this_coro::executor;
    auto timer = std::make_shared<http::Timer>(executor, limit);
    {
        std::lock_guard lock(flight->mutex);
        if (flight->landed) co_return true;
        // The timer is only touched on its own executor: the cancel is posted there, and it
        // cannot run before this coroutine is suspended in async_wait (one thread per worker).
        flight->wake.push_back([timer, executor] { net::post(executor, [timer] { timer->cancel(); }); });
    }
    auto [ec] = co_await timer->async_wait(net::as_tuple(http::use_awaitable));
    co_return ec == net::error::operation_aborted;
}

std::size_t Coalescer::in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
}

}  // namespace llmgw::cache
