// Admission's decisions in Redis, with group commit: while one admission call of this worker is
// under way, the requests that arrive wait and then share the next call, so under load a call
// decides many requests (fewer round trips, less work for Redis per request) and at low load a
// request is sent at once.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <utility>
#include <vector>

#include "llmgw/limits/admission.hpp"
#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::limits {

// A request waiting for the call under way: resumed once the next call decided it, or to lead
// that call. Its coroutine is held here and posted to resume: no timer to arm, cancel and
// complete per request (about 1,500 instructions, and two locks).
struct Admission::Waiting {
    RedisLimiter::Ask* ask;
    http::net::any_completion_handler<void()> resume;
    bool lead = false;
};

namespace {
using Resume = http::net::any_completion_handler<void()>;

// Drops a waiting coroutine that will never be resumed (its call or its Admission is going
// away): posted, so that it is destroyed where a timer's wait would have been, by the
// io_context (it runs nothing of the request).
void drop(const http::Executor& executor, Resume& resume) {
    if (!resume) return;
    http::net::post(executor, [held = std::move(resume)]() mutable { Resume dropped = std::move(held); });
}
}  // namespace

// Suspends the caller until wake() posts it. Not cancellable: the call that decides it writes
// into its Ask, and that call is bounded by redis.timeout.
http::Task<void> Admission::wait_turn(Waiting& me) {
    return http::net::async_initiate<decltype(http::use_awaitable), void()>(
        [this, &me](auto handler) {
            // Not assigned: Boost 1.81's move assignment copies itself without end.
            Resume(std::move(handler)).swap(me.resume);
            waiting_.push_back(&me);
        },
        http::use_awaitable);
}

// One posted handler resumes them all, in order: one trip through the scheduler per call, not
// per request.
void Admission::wake(const std::vector<Waiting*>& woken) {
    std::vector<Resume> resumes;
    resumes.reserve(woken.size());
    for (auto* waiting : woken)
        if (waiting->resume) resumes.push_back(std::move(waiting->resume));
    if (resumes.empty()) return;
    http::net::post(executor_, [resumes = std::move(resumes)]() mutable {
        for (auto& resume : resumes) resume();
    });
}

void Admission::drop_waiting() {
    for (auto* waiting : std::exchange(waiting_, {})) drop(executor_, waiting->resume);
}

RedisLimiter::Lease Admission::lease_for(const std::string& consumer, const config::Tier& tier) {
    RedisLimiter::Lease lease;
    if (tier.max_concurrent != 0) {
        lease.cap = tier.max_concurrent;
        lease.key = redis_->concurrency_key(consumer);
        lease.member = leases_->next_member();
        lease.duration = RedisLeases::duration;
    }
    return lease;
}

// Redis's answer to `ask` into `outcome` (no decision: Redis failed; a call that timed out may
// still have taken its lease: it expires unrenewed).
void Admission::take_answer(const std::string& consumer, const config::Tier& tier,
                            RedisLimiter::Ask& ask, RedisLimiter::Lease& lease,
                            RedisLimiter::Slices* slices, Outcome& outcome) {
    if (slices != nullptr) slices_granted(consumer, tier, *slices, ask.decision);
    if (!ask.decision) return;
    if (ask.decision->admitted && lease.cap != 0) {
        outcome.slot = leases_->hold(consumer, std::move(lease.key), std::move(lease.member));
        arm_renew_timer();
    }
    outcome.decision = std::move(ask.decision);
    outcome.reservation.in_redis = true;
}

// One coroutine per request from here to its answer: it waits for the call under way (and
// rides the next one), or leads a call.
http::Task<Admission::Outcome> Admission::admit_with_redis(const std::string& consumer,
                                                           const config::Tier& tier,
                                                           const Charge& reserve) {
    auto outcome = undecided(reserve);
    auto lease = lease_for(consumer, tier);
    auto slices = slices_wanted(consumer, tier, reserve);
    RedisLimiter::Ask ask{&consumer, &tier, reserve, &lease, slices.get(), std::nullopt};
    const auto asked = std::chrono::system_clock::now();
    bool lead = true;
    if (admitting_) {
        Waiting me{&ask, {}, false};
        co_await wait_turn(me);
        lead = me.lead;
    }
    if (lead) {
        admitting_ = true;
        co_await lead_call(ask);
    }
    outcome.redis_call.emplace(asked, std::chrono::system_clock::now());
    take_answer(consumer, tier, ask, lease, slices.get(), outcome);
    if (outcome.decision)
        shadow(consumer, tier, reserve, outcome);
    else
        decide_without_redis(consumer, tier, reserve, outcome);
    co_return outcome;
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
    // One turn of the event loop first: the requests it already holds ride this call instead
    // of waiting for the next one.
    try {
        co_await http::net::post(executor_, http::use_awaitable);
    } catch (...) {
        // A cancelled leader still leads (its call fails below): the others must not wait.
    }
    // The riders, until they are woken: dropped with this coroutine if it never ends (its
    // io_context stopped with the call under way), as their timers' waits were.
    struct Riders {
        std::vector<Waiting*> list;
        http::Executor executor;
        ~Riders() {
            for (auto* rider : list) drop(executor, rider->resume);
        }
    } riders{take_riders(own), executor_};
    std::vector<RedisLimiter::Ask*> asks{&own};
    for (auto* rider : riders.list) asks.push_back(rider->ask);
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
    auto woken = std::exchange(riders.list, {});
    if (waiting_.empty()) {
        admitting_ = false;
    } else {
        // Those that came during this call: the first leads the next one (resumed after the
        // riders, as before).
        auto* next = waiting_.front();
        waiting_.erase(waiting_.begin());
        next->lead = true;
        woken.push_back(next);
    }
    wake(woken);
}

}  // namespace llmgw::limits
