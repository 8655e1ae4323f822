// Admission's lease mode (redis.admission lease): requests admitted from this worker's slices of
// their limits, slices asked for along with admissions in Redis, renewed ahead of need in the
// background, and given back when idle, changed by a reload, or at drain.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <utility>

#include "llmgw/limits/admission.hpp"
#include "llmgw/limits/redis_limiter.hpp"

namespace llmgw::limits {

bool Admission::admit_from_slices(const std::string& consumer, const config::Tier& tier,
                                  const Charge& reserve, Outcome& outcome) {
    auto decision = slices_->take(consumer, tier, reserve, outcome.reservation.at);
    give_back(slices_->take_stale());
    if (!decision) return false;
    metrics_.limits().lease_admitted();
    outcome.decision = std::move(decision);
    // Taken out of the limit in Redis when the slice was granted: settled there.
    outcome.reservation.in_redis = true;
    if (slices_->low(consumer, tier) && redis_usable() && slices_->begin_renewal(consumer, tier))
        http::net::co_spawn(executor_, renew_slices(consumer, tier), http::net::detached);
    return true;
}

http::Task<void> Admission::renew_slices(std::string consumer, config::Tier tier) {
    RedisLimiter::Slices slices;
    slices.with_request = false;
    slices.want = slices_->ask(consumer, tier, Clock::now());
    if (std::all_of(slices.want.begin(), slices.want.end(), [](auto n) { return n == 0; })) {
        slices_->end_renewal(consumer, tier);  // calls under way asked for it all
        co_return;
    }
    auto carried = carry_for(consumer, take_page());
    const auto count = carried.size();
    const Charge nothing;
    const ConcurrencyLease no_lease;
    auto decision = co_await redis_->admit(consumer, tier, nothing, carried, no_lease, &slices);
    metrics_.limits().redis_call("renew", count);
    redis_result(decision.has_value());
    if (decision) {
        slices_->add(consumer, tier, slices.want, slices.granted, decision->states, Clock::now());
        arm_slice_timer();
    } else {
        slices_->cancel(consumer, tier, slices.want);
        requeue(std::move(carried));
    }
    slices_->end_renewal(consumer, tier);
    give_back(slices_->take_stale());
}

std::unique_ptr<RedisLimiter::Slices> Admission::slices_wanted(const std::string& consumer,
                                                               const config::Tier& tier,
                                                               const Charge& reserve) {
    if (!slices_ || !slices_->leasable(tier, reserve)) return nullptr;
    auto slices = std::make_unique<RedisLimiter::Slices>();
    slices->want = slices_->ask(consumer, tier, Clock::now());
    if (std::all_of(slices->want.begin(), slices->want.end(), [](auto n) { return n == 0; }))
        return nullptr;  // full, or calls under way asked for the rest
    return slices;
}

void Admission::slices_granted(const std::string& consumer, const config::Tier& tier,
                               const RedisLimiter::Slices& slices, std::optional<Decision>& decision) {
    if (!decision) {
        slices_->cancel(consumer, tier, slices.want);
        return;
    }
    slices_->add(consumer, tier, slices.want, slices.granted, decision->states, Clock::now());
    give_back(slices_->take_stale());
    arm_slice_timer();
}

void Admission::give_back(std::vector<LeaseSlices::Unused> unused, bool flush_now) {
    if (unused.empty()) return;
    for (const auto& slice : unused) {
        auto& page = page_to_fill();
        redis_->queue_return(page, slice.consumer, slice.tier, slice.index, slice.amount,
                             slice.granted_at);
        ++queued_;
    }
    // At once, like a concurrency lease: another instance may be waiting for what comes back.
    if (flush_now) schedule_flush(/*now=*/true);
}

void Admission::arm_slice_timer() {
    if (slice_armed_) return;
    slice_armed_ = true;
    slice_timer_->expires_after(slice_idle);
    slice_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: the Admission is going away
        slice_armed_ = false;
        give_back(slices_->take_idle(Clock::now() - slice_idle));
        if (!slices_->empty()) arm_slice_timer();
    });
}

http::Task<void> Admission::drain() {
    if (!redis_) co_return;
    if (slices_) give_back(slices_->take_all(), /*flush_now=*/false);
    // Not flush(): one may be under way, and this must not end before the backlog is sent.
    co_await send_backlog(/*everything=*/true);
}

}  // namespace llmgw::limits
