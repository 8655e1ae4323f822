// Redis first, the in-process limiter as the fallback (or a 503, as configured).
#include "llmgw/limits/admission.hpp"

#include <utility>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "llmgw/limits/backlog_slots.hpp"
#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/limits/redis_options.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::limits {

Admission::Admission(LocalLimiter& local, UsageLedger& ledger, const config::Config& config,
                     http::Executor executor, observability::Metrics& metrics,
                     redis::Client* redis, const FleetSize* fleet)
    : local_(local),
      ledger_(ledger),
      config_(config),
      executor_(std::move(executor)),
      metrics_(metrics),
      client_(redis),
      fleet_(fleet) {
    if (client_ == nullptr) return;
    redis_ = std::make_unique<RedisLimiter>(*client_);
    if (config_.redis->admission == config::RedisConfig::Admission::lease) {
        // lease_fraction bounds what the instance holds: its workers share it.
        slices_ = std::make_unique<LeaseSlices>(config_.redis->lease_fraction /
                                                std::max(config_.server.workers, 1u));
        slice_timer_ = std::make_unique<http::Timer>(executor_);
    }
    flush_timer_ = std::make_unique<http::Timer>(executor_);
    renew_timer_ = std::make_unique<http::Timer>(executor_);
    // A lease given back goes at once (with whatever else waits), not after flush_delay: the
    // consumer's next request, on any worker or instance, must find the slot free. While a
    // call is under way it waits for the next one, so under load releases still share calls.
    leases_ = std::make_shared<RedisLeases>([this](const RedisLeases::Lease& lease) {
        auto& page = page_to_fill();
        redis_->queue_release(page, lease.key, lease.member);
        ++queued_;
        schedule_flush(/*now=*/true);
    });
    ready_ = client_->connected();
    // Told, not polled: the client's connect notification, and with failure_mode open the
    // end of the grace period, after which the worker starts on local buckets.
    // A connection that became ready again (Redis back, or a Cluster master promoted) ends a
    // pause at once: the pause is for a Redis that answers slowly, not for one just reached.
    client_->on_connected = [this] {
        paused_until_ = {};
        consecutive_failures_ = 0;
        become_ready();
    };
    if (config_.redis->failure_mode == config::RedisConfig::FailureMode::open) {
        grace_timer_ = std::make_unique<http::Timer>(executor_, open_mode_grace);
        grace_timer_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) become_ready();
        });
    }
}

void Admission::record_usage(const std::string& consumer, const UsageRecord& usage) {
    const auto now = Clock::now();
    ledger_.record(consumer, now, usage);
    if (!redis_) return;
    auto& page = page_to_fill();
    const auto before = page.size();
    redis_->queue_usage(page, consumer, UsageLedger::day_of(now), usage);
    queued_ += page.size() - before;
    schedule_flush();
}

Admission::~Admission() { drop_waiting(); }

void Admission::when_ready(std::function<void()> tell) {
    if (ready_) {
        tell();
        return;
    }
    tell_ready_ = std::move(tell);
}

void Admission::become_ready() {
    if (ready_.exchange(true)) return;
    if (tell_ready_) std::exchange(tell_ready_, nullptr)();
}

bool Admission::redis_usable() {
    // Disconnected costs nothing to detect (calls would fail at once), so only a Redis that
    // answers slowly is paused; a restarted Redis is used again as soon as it is reconnected.
    return redis_ && client_->connected() && std::chrono::steady_clock::now() >= paused_until_;
}

void Admission::redis_result(bool ok) {
    if (ok) {
        consecutive_failures_ = 0;
        return;
    }
    if (++consecutive_failures_ >= failures_before_pause) {
        paused_until_ = std::chrono::steady_clock::now() + pause;
        consecutive_failures_ = 0;
    }
}

// An outcome before anything was decided: what the request would reserve, from now.
Admission::Outcome Admission::undecided(const Charge& reserve) {
    Outcome outcome;
    outcome.reservation.reserved = reserve;
    outcome.reservation.at = Clock::now();
    return outcome;
}

std::optional<Admission::Outcome> Admission::admit_now(const std::string& consumer,
                                                       const config::Tier& tier,
                                                       const Charge& reserve) {
    auto outcome = undecided(reserve);
    if (slices_ && admit_from_slices(consumer, tier, reserve, outcome)) {
        shadow(consumer, tier, reserve, outcome);
        return outcome;
    }
    if (redis_usable()) return std::nullopt;  // Redis decides: admit() asks it
    decide_without_redis(consumer, tier, reserve, outcome);
    return outcome;
}

http::Task<Admission::Outcome> Admission::admit(const std::string& consumer,
                                                const config::Tier& tier, const Charge& reserve) {
    if (auto now = admit_now(consumer, tier, reserve)) co_return std::move(*now);
    auto asked = co_await admit_with_redis(consumer, tier, reserve);
    co_return asked;
}

// Decided elsewhere (Redis, a leased slice): the local buckets follow an admitted request
// while they shadow Redis.
void Admission::shadow(const std::string& consumer, const config::Tier& tier,
                       const Charge& reserve, const Outcome& outcome) {
    if (outcome.decision->admitted && shadowing())
        local_.debit(consumer, local_tier(tier), reserve, outcome.reservation.at);
}

// No Redis answer: with failure_mode closed, none (the request is refused); else the local
// buckets decide.
void Admission::decide_without_redis(const std::string& consumer, const config::Tier& tier,
                                     const Charge& reserve, Outcome& outcome) {
    if (redis_ && config_.redis->failure_mode == config::RedisConfig::FailureMode::closed) return;
    if (redis_) metrics_.redis_fail_open();
    admit_locally(consumer, tier, reserve, outcome);
}

http::Task<std::vector<LimitState>> Admission::remaining(const std::string& consumer,
                                                        const config::Tier& tier) {
    if (redis_usable()) {
        auto states = co_await redis_->peek(consumer, tier);
        metrics_.limits().redis_call("peek", 0);
        redis_result(states.has_value());
        if (states) co_return std::move(*states);
    }
    co_return local_.peek(consumer, local_tier(tier), Clock::now());
}

void Admission::admit_locally(const std::string& consumer, const config::Tier& tier,
                              const Charge& reserve, Outcome& outcome) {
    if (tier.max_concurrent != 0) {
        outcome.slot = local_.concurrency().try_acquire(consumer, tier.max_concurrent);
        if (!outcome.slot.held()) {
            Decision refused;
            refused.admitted = false;
            refused.over_concurrency = true;
            refused.retry_after = std::chrono::seconds(1);
            outcome.decision = std::move(refused);
            return;
        }
    }
    outcome.decision = local_.admit(consumer, local_tier(tier), reserve, outcome.reservation.at);
    // Held only while the limits decided: a request they refuse holds no slot.
    if (!outcome.decision->admitted) outcome.slot.release();
}

bool Admission::shadowing() const {
    return redis_ && config_.redis->failure_mode == config::RedisConfig::FailureMode::open;
}

namespace {
// `tier` with every amount (and burst) divided by `n`, rounded up: one instance's share.
std::unique_ptr<config::Tier> share_of(const config::Tier& tier, unsigned n) {
    auto share = std::make_unique<config::Tier>(tier);
    for (auto& limit : share->limits) {
        limit.amount = (limit.amount + n - 1) / n;
        limit.burst = (limit.burst + n - 1) / n;
    }
    return share;
}
}  // namespace

const config::Tier& Admission::local_tier(const config::Tier& tier) {
    const unsigned n = shadowing() && fleet_ != nullptr ? std::max(fleet_->live(), 1u) : 1;
    if (n == 1) return tier;
    auto found = shares_.find(ShareOrder::View{tier.name, n});
    if (found == shares_.end()) found = shares_.try_emplace(ShareOrder::Key{tier.name, n}).first;
    auto& share = found->second;
    if (!share.tier || share.source != tier.limits) {
        if (share.tier) replaced_shares_.push_back(std::move(share.tier));
        share.source = tier.limits;
        share.tier = share_of(tier, n);
    }
    return *share.tier;
}

void Admission::arm_renew_timer() {
    if (renew_armed_) return;
    renew_armed_ = true;
    renew_timer_->expires_after(RedisLeases::renew_every);
    renew_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: the Admission is going away
        renew_armed_ = false;
        if (leases_->empty()) return;
        leases_->for_each([this](const RedisLeases::Lease& lease) {
            redis_->queue_renew(page_to_fill(), lease.key, lease.member, RedisLeases::duration);
            ++queued_;
        });
        schedule_flush();
        arm_renew_timer();
    });
}

void Admission::settle(const std::string& consumer, const config::Tier& tier,
                       const Reservation& reservation, const Charge& actual) {
    const auto now = Clock::now();
    // The in-process limiter always learns the usage, so a fail-open period starts from
    // realistic buckets instead of full ones; it holds the reservation when it took it or
    // followed Redis's (shadowing).
    if (shadowing())
        local_.settle(consumer, local_tier(tier), reservation.reserved, actual, reservation.at, now);
    else if (reservation.in_redis)
        local_.settle(consumer, tier, Charge{}, actual, now, now);
    else
        local_.settle(consumer, tier, reservation.reserved, actual, reservation.at, now);
    if (!redis_) return;
    // A reservation taken in Redis is settled there; a local one only adds the usage.
    const auto& reserved = reservation.in_redis ? reservation.reserved : Charge{};
    auto& page = page_to_fill();
    const auto before = page.size();
    redis_->queue_settle(page, consumer, tier, reserved, actual,
                         reservation.in_redis ? reservation.at : now);
    if (page.size() == before) return;
    queued_ += page.size() - before;
    schedule_flush();
}

void Admission::schedule_flush(bool now) {
    if (queued_ > max_backlog) {
        // Redis has been away long enough to fill the backlog: what waits is dropped.
        metrics_.limits().backlog_dropped(queued_);
        spdlog::warn("redis unavailable: {} settles and usage records dropped", queued_);
        pages_.clear();
        queued_ = 0;
        return;
    }
    if ((now || queued_ >= flush_at) && redis_usable() && !flushing_) {
        http::net::co_spawn(executor_, flush(), http::net::detached);
        return;
    }
    arm_flush_timer(flush_delay);
}

void Admission::arm_flush_timer(std::chrono::milliseconds delay) {
    if (flush_armed_) return;
    flush_armed_ = true;
    flush_timer_->expires_after(delay);
    flush_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: the Admission is going away
        flush_armed_ = false;
        if (queued_ == 0) return;
        // Idle: no admission came to carry the backlog; it goes on its own. While Redis is
        // unusable it waits (bounded), and goes once Redis is back.
        if (!redis_usable() || flushing_) {
            arm_flush_timer(pause);
            return;
        }
        http::net::co_spawn(executor_, flush(), http::net::detached);
    });
}

http::Task<void> Admission::flush() {
    if (!redis_ || flushing_) co_return;
    flushing_ = true;
    co_await send_backlog(/*everything=*/false);
    flushing_ = false;
    if (queued_ == 0) co_return;
    // What came during the call waits until it is due (or Redis is usable again).
    if (!redis_usable()) {
        arm_flush_timer(pause);
        co_return;
    }
    const auto waited = std::chrono::steady_clock::now() - pages_.front().since;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(flush_delay - waited);
    arm_flush_timer(std::max(left, std::chrono::milliseconds(1)));
}

RedisLimiter::Backlog Admission::carry_for(const std::string& consumer,
                                           RedisLimiter::Backlog page) {
    if (!client_->cluster() || page.empty()) return page;
    // Redis Cluster runs a script on one slot only: the admission carries the work of its
    // consumer's slot, the rest goes on its own at once (a call per slot).
    const auto slot = redis::key_slot(redis_->concurrency_key(consumer));
    RedisLimiter::Backlog own;
    bool others = false;
    auto groups = split_by_slot(std::move(page));
    for (auto group = groups.rbegin(); group != groups.rend(); ++group) {
        if (group->first == slot) {
            own = std::move(group->second);
        } else {
            requeue(std::move(group->second));
            others = true;
        }
    }
    if (others) schedule_flush(/*now=*/true);
    return own;
}

// Cluster: a call per slot of the page; those that failed wait in the backlog. False when one
// failed.
http::Task<bool> Admission::send_by_slot(RedisLimiter::Backlog page) {
    auto groups = split_by_slot(std::move(page));
    bool all_sent = true;
    for (auto& [slot, group] : groups) {
        const auto count = group.size();
        const bool ok = co_await redis_->flush(group);
        metrics_.limits().redis_call("flush", count);
        if (ok) continue;
        all_sent = false;
        requeue(std::move(group));
    }
    if (!all_sent) redis_result(false);
    co_return all_sent;
}

http::Task<void> Admission::send_backlog(bool everything) {
    // Only pages that are due: under load, a new page fills while a call is under way, and
    // sending it at once would make one call per round trip instead of one per flush_delay.
    while (queued_ > 0 && redis_usable() && (everything || page_due())) {
        auto carried = take_page();
        if (carried.empty()) continue;
        if (client_->cluster()) {
            const bool sent = co_await send_by_slot(std::move(carried));
            if (sent) continue;
            break;
        }
        const auto count = carried.size();
        const bool ok = co_await redis_->flush(carried);
        metrics_.limits().redis_call("flush", count);
        if (ok) continue;
        redis_result(false);
        requeue(std::move(carried));
        break;
    }
}

void Admission::requeue(RedisLimiter::Backlog&& carried) {
    // A call that timed out may still have run in Redis: its work is sent again, and may then
    // count twice (docs/rate-limits.md); dropping it would lose it for certain.
    queued_ += carried.size();
    pages_.push_front(std::move(carried));
}

RedisLimiter::Backlog& Admission::page_to_fill() {
    if (pages_.empty() || pages_.back().size() >= carry_at_most) {
        pages_.emplace_back();
        pages_.back().since = std::chrono::steady_clock::now();
    }
    return pages_.back();
}

bool Admission::page_due() const {
    if (pages_.empty()) return false;
    const auto& first = pages_.front();
    // Lease releases and slice returns go at once: another request may wait for them.
    return pages_.size() > 1 || first.leases != 0 || first.returns != 0 ||
           std::chrono::steady_clock::now() - first.since >= flush_delay;
}

RedisLimiter::Backlog Admission::take_page() {
    if (pages_.empty()) return {};
    auto page = std::move(pages_.front());
    pages_.pop_front();
    queued_ -= page.size();
    return page;
}

}  // namespace llmgw::limits
