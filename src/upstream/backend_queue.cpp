// Waiting in a backend's queue: each waiter sleeps on a timer of its own worker until its
// deadline; whoever frees a slot pops the next waiter and cancels that timer on the waiter's
// own thread (posted there), so no timer is ever touched from two threads.
#include "llmgw/upstream/backend_queue.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

namespace llmgw::upstream {

namespace net = http::net;

struct BackendQueue::Waiter {
    explicit Waiter(http::Executor executor) : executor(std::move(executor)) {}
    http::Executor executor;
    // Both touched only on the waiter's own thread: the timer lives in the waiting coroutine,
    // and `done` says it is gone.
    http::Timer* timer = nullptr;
    bool done = false;
    // Under the queue's mutex:
    FairQueue::Id id = 0;
    unsigned priority = 0;
    FairQueue::Entry entry;  // as popped, when its turn came
    bool turned = false;
};

BackendQueue::BackendQueue(const config::QueueConfig& config, FreeSlots free_slots)
    : config_(config), free_slots_(std::move(free_slots)) {}

BackendQueue::~BackendQueue() = default;

bool BackendQueue::enter(const std::shared_ptr<Waiter>& waiter, const FairQueue::Place& place) {
    std::lock_guard lock(mutex_);
    if (order_.size() >= config_.max_waiting) return false;
    waiter->id = order_.push(place);
    waiter->priority = place.priority;
    waiters_.emplace(waiter->id, waiter);
    ++depths_[place.priority];
    busy_.fetch_add(1, std::memory_order_release);
    return true;
}

void BackendQueue::dispatch() {
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mutex_);
        // Never more woken than there are slots: the others would only find them taken.
        const auto free = free_slots_();
        while (!order_.empty() && free > in_transit_) {
            auto entry = order_.pop();
            auto found = waiters_.find(entry->id);
            auto waiter = std::move(found->second);
            waiters_.erase(found);
            --depths_[waiter->priority];
            waiter->entry = std::move(*entry);
            waiter->turned = true;
            ++in_transit_;
            woken.push_back(std::move(waiter));
        }
    }
    for (auto& waiter : woken)
        net::post(waiter->executor, [waiter] {
            if (!waiter->done) waiter->timer->cancel();
        });
}

bool BackendQueue::turn_came(Waiter& waiter) {
    std::lock_guard lock(mutex_);
    if (waiter.turned) return true;
    order_.remove(waiter.id);
    waiters_.erase(waiter.id);
    --depths_[waiter.priority];
    busy_.fetch_sub(1, std::memory_order_release);
    return false;
}

void BackendQueue::put_back(const std::shared_ptr<Waiter>& waiter) {
    std::lock_guard lock(mutex_);
    --in_transit_;
    waiter->turned = false;
    order_.restore(waiter->entry);
    waiters_.emplace(waiter->id, waiter);
    ++depths_[waiter->priority];
}

void BackendQueue::note_served(clock::time_point now) {
    // An average over the last few turns; a long idle gap counts as the timeout at most.
    if (last_turn_ != clock::time_point{}) {
        const auto gap = std::min<clock::duration>(now - last_turn_, config_.timeout);
        const double seconds = std::chrono::duration<double>(gap).count();
        seconds_per_turn_ =
            seconds_per_turn_ == 0 ? seconds : 0.8 * seconds_per_turn_ + 0.2 * seconds;
    }
    last_turn_ = now;
}

http::Task<BackendQueue::Result> BackendQueue::wait(const FairQueue::Place& place,
                                                    http::HangUp& hang_up,
                                                    const std::function<bool()>& take) {
    const auto entered = clock::now();
    auto waiter = std::make_shared<Waiter>(co_await net::this_coro::executor);
    if (!enter(waiter, place)) co_return Result{Outcome::full, {}};
    http::Timer timer(waiter->executor, config_.timeout);
    waiter->timer = &timer;
    hang_up.slot().assign([&timer](net::cancellation_type) { timer.cancel(); });
    dispatch();  // a slot may be free already
    Result result{Outcome::timeout, {}};
    for (;;) {
        co_await timer.async_wait(net::as_tuple(http::use_awaitable));
        if (!turn_came(*waiter)) {
            result.outcome = hang_up.happened() ? Outcome::left : Outcome::timeout;
            break;
        }
        if (hang_up.happened() || take()) {
            std::lock_guard lock(mutex_);
            --in_transit_;
            busy_.fetch_sub(1, std::memory_order_release);
            result.outcome = hang_up.happened() ? Outcome::left : Outcome::served;
            if (result.outcome == Outcome::served) note_served(clock::now());
            break;
        }
        // The slot went to someone else meanwhile: first in line again, until the next one
        // is freed (not at once: a turn that cannot be taken would only come round again).
        put_back(waiter);
    }
    hang_up.slot().clear();
    waiter->done = true;
    // A client that left after its turn came passes the turn on.
    if (result.outcome == Outcome::left) dispatch();
    result.waited = clock::now() - entered;
    co_return result;
}

int BackendQueue::retry_after_seconds() const {
    std::lock_guard lock(mutex_);
    const double timeout = std::chrono::duration<double>(config_.timeout).count();
    const double seconds = seconds_per_turn_ > 0
                               ? seconds_per_turn_ * static_cast<double>(order_.size() + 1)
                               : timeout;
    return static_cast<int>(std::clamp(std::ceil(seconds), 1.0, std::max(1.0, std::ceil(timeout))));
}

std::map<unsigned, std::size_t> BackendQueue::depths() const {
    std::lock_guard lock(mutex_);
    return depths_;
}

}  // namespace llmgw::upstream
