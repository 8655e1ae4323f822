// Admission's decisions in Redis, with group commit: while one admission call of this worker is
// under way, the requests that arrive wait and then share the next call, so under load a call
// decides many requests (fewer round trips, less work for Redis per request) and at low load a
// request is sent at once.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <utility>

#include "llmgw/limits/admission.hpp"
#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::limits {

// A request waiting for the call under way: woken (its timer cancelled) once the next call
// decided it, or to lead that call.
struct Admission::Waiting {
    RedisLimiter::Ask* ask;
    http::Timer wake;
    bool lead = false;
};

http::Task<void> Admission::admit_in_redis(const std::string& consumer, const config::Tier& tier,
                                           const Charge& reserve, Outcome& outcome) {
    RedisLimiter::Lease lease;
    if (tier.max_concurrent != 0) {
        lease.cap = tier.max_concurrent;
        lease.key = redis_->concurrency_key(consumer);
        lease.member = leases_->next_member();
        lease.duration = RedisLeases::duration;
    }
    auto slices = slices_wanted(consumer, tier, reserve);
    RedisLimiter::Ask ask{&consumer, &tier, reserve, &lease, slices.get(), std::nullopt};
    const auto asked = std::chrono::system_clock::now();
    co_await decide_in_redis(ask);
    outcome.redis_call.emplace(asked, std::chrono::system_clock::now());
    if (slices) slices_granted(consumer, tier, *slices, ask.decision);
    // Redis failed (a call that timed out may still have taken its lease: it expires unrenewed).
    if (!ask.decision) co_return;
    if (ask.decision->admitted && lease.cap != 0) {
        outcome.slot = leases_->hold(consumer, std::move(lease.key), std::move(lease.member));
        arm_renew_timer();
    }
    outcome.decision = std::move(ask.decision);
    outcome.reservation.in_redis = true;
}

http::Task<void> Admission::decide_in_redis(RedisLimiter::Ask& ask) {
    if (admitting_) {
        Waiting me{&ask, http::Timer(executor_)};
        me.wake.expires_at(http::Timer::time_point::max());
        waiting_.push_back(&me);
        try {
            // Not cancellable: the call that decides it writes into `ask`, and that call is
            // bounded by redis.timeout.
            co_await me.wake.async_wait(http::net::bind_cancellation_slot(
                http::net::cancellation_slot(), http::net::as_tuple(http::use_awaitable)));
        } catch (...) {
            // Only a request cancelled before it waited gets here: it never joined a call.
            std::erase(waiting_, &me);
            throw;
        }
        if (!me.lead) co_return;
    }
    admitting_ = true;
    co_await lead_call(ask);
}

std::vector<Admission::Waiting*> Admission::take_riders(const RedisLimiter::Ask& own) {
    std::vector<Waiting*> riders;
    if (!client_->cluster()) {
        const auto riding = std::min(waiting_.size(), admit_at_most - 1);
        riders.assign(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(riding));
        waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(riding));
        return riders;
    }
    // Redis Cluster runs a script on one slot: only asks of the leader's slot ride along; the
    // others wait for the next call.
    const auto slot_of = [this](const std::string& consumer) {
        return redis::key_slot(redis_->concurrency_key(consumer));
    };
    const auto slot = slot_of(*own.consumer);
    for (auto it = waiting_.begin(); it != waiting_.end() && riders.size() + 1 < admit_at_most;) {
        if (slot_of(*(*it)->ask->consumer) != slot) {
            ++it;
            continue;
        }
        riders.push_back(*it);
        it = waiting_.erase(it);
    }
    return riders;
}

http::Task<void> Admission::lead_call(RedisLimiter::Ask& own) {
    const auto riders = take_riders(own);
    std::vector<RedisLimiter::Ask*> asks{&own};
    for (auto* rider : riders) asks.push_back(rider->ask);
    // What waits for Redis rides along once it is due: one call for all of it, and in the
    // meantime usage records and settles of a consumer are summed (less work for Redis).
    auto carried = page_due() ? carry_for(*own.consumer, take_page()) : RedisLimiter::Backlog{};
    const auto count = carried.size();
    bool ok = false;
    try {
        ok = co_await redis_->admit_all(carried, asks);
    } catch (...) {
        // The leader's request was cancelled: the call counts as failed, and the riders and
        // those waiting are still answered and led.
    }
    metrics_.limits().redis_call("admit", count);
    redis_result(ok);
    if (!ok) requeue(std::move(carried));
    for (auto* rider : riders) rider->wake.cancel();
    if (waiting_.empty()) {
        admitting_ = false;
        co_return;
    }
    // Those that came during this call: the first leads the next one.
    auto* next = waiting_.front();
    waiting_.erase(waiting_.begin());
    next->lead = true;
    next->wake.cancel();
}

}  // namespace llmgw::limits
