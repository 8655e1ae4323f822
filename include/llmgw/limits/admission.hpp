// One worker's way to the limits: Redis when configured (shared by every instance), the
// in-process limiter otherwise — and, with failure_mode open, while Redis is unavailable.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/limits/concurrency_slot.hpp"
#include "llmgw/limits/fleet_size.hpp"
#include "llmgw/limits/lease_slices.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/redis_leases.hpp"
#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/limits/reservation.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/observability/metrics.hpp"

namespace llmgw::redis {
class Client;
}

namespace llmgw::limits {


class Admission {
public:
    // After this many Redis failures in a row, Redis is not asked for a while, so a hung
    // Redis does not add its timeout to every request.
    static constexpr int failures_before_pause = 3;
    static constexpr auto pause = std::chrono::seconds(1);

    // `redis`: this worker's started Redis connection when `redis` is configured, else null.
    // `fleet`: how many instances share the Redis (failure_mode open), or null.
    Admission(LocalLimiter& local, UsageLedger& ledger, const config::Config& config,
              http::Executor executor, observability::Metrics& metrics,
              redis::Client* redis, const FleetSize* fleet = nullptr);
    ~Admission();

    // Settles and usage records wait at most this long for an admission to carry them to
    // Redis, and at most this many are held before they go on their own.
    static constexpr auto flush_delay = std::chrono::milliseconds(100);
    static constexpr std::size_t flush_at = 256;
    // One call carries at most this many: a slow Redis is never sent ever larger scripts.
    static constexpr std::size_t carry_at_most = 64;
    static constexpr std::size_t max_backlog = 100'000;  // while Redis is away; more are dropped
    // Admissions that arrive while this worker's call to Redis is under way wait for it to end
    // and then share the next call, at most this many to a call.
    static constexpr std::size_t admit_at_most = 64;

    struct Outcome {
        std::optional<Decision>
            decision;  // nullopt: Redis is unavailable and failure_mode is closed
        Reservation reservation;  // what an admitted request reserved, and where
        // An admitted request's place under its tier's max_concurrent (empty without a cap):
        // held until the request ends.
        ConcurrencySlot slot;
        // When Redis was asked: the call's start and end (a trace shows it as a span).
        std::optional<std::pair<std::chrono::system_clock::time_point,
                                std::chrono::system_clock::time_point>>
            redis_call{};
    };
    // Admits one request, reserving `reserve` from the tier's token and cost limits and taking
    // a slot under the tier's max_concurrent. The cap is checked first and a request it
    // refuses takes nothing from the limits; in process, a request the limits refuse gives its
    // slot back at once (in Redis both are decided in one script, all or nothing).
    http::Task<Outcome> admit(const std::string& consumer, const config::Tier& tier,
                              const Charge& reserve = {});
    // The same, when it is decided without a Redis call (in process, from a leased slice, or
    // Redis unusable): nullopt when Redis must be asked, with admit_with_redis() (the local
    // buckets decide if Redis does not answer, as failure_mode says).
    std::optional<Outcome> admit_now(const std::string& consumer, const config::Tier& tier,
                                     const Charge& reserve = {});
    http::Task<Outcome> admit_with_redis(const std::string& consumer, const config::Tier& tier,
                                         const Charge& reserve);
    // For /readyz (any thread): without Redis, at once; with it, once this worker's connection
    // is up (failure_mode open also after open_mode_grace, to start on local buckets).
    bool ready() const { return ready_.load(); }
    // Calls `tell` once, on this worker's thread, when ready (at once when it already is).
    void when_ready(std::function<void()> tell);
    static constexpr auto open_mode_grace = std::chrono::seconds(2);
    // Settles a reservation with what the request used. In the background: with Redis, it
    // rides along with the next admission (or a flush when none comes).
    void settle(const std::string& consumer, const config::Tier& tier,
                const Reservation& reservation, const Charge& actual);
    // Adds one answered request to the consumer's usage for today (in process, and in Redis
    // when configured), also in the background.
    void record_usage(const std::string& consumer, const UsageRecord& usage);
    // Sends whatever waits for Redis now; returns when Redis answered or failed.
    http::Task<void> flush();
    // The drain's last word: gives back this worker's lease slices, then flushes.
    http::Task<void> drain();
    // redis.admission lease: a consumer's slices unused this long go back to Redis, so that
    // other instances can admit with them.
    static constexpr auto slice_idle = std::chrono::seconds(5);
    // What is left of each limit of the tier for the consumer, taking nothing: from Redis when
    // it is configured and answers (the fleet's figures), else from this instance's buckets.
    http::Task<std::vector<LimitState>> remaining(const std::string& consumer,
                                                  const config::Tier& tier);

private:
    // The decision in Redis (outcome.decision stays empty when Redis failed), or in process.
    void decide_without_redis(const std::string& consumer, const config::Tier& tier,
                              const Charge& reserve, Outcome& outcome);
    void shadow(const std::string& consumer, const config::Tier& tier, const Charge& reserve,
                const Outcome& outcome);
    static Outcome undecided(const Charge& reserve);
    // Group commit (redis_admission.cpp): one admission call in flight per worker; the asks
    // that arrive meanwhile wait, and the first of them then leads the next call for all.
    struct Waiting;
    http::Task<void> wait_turn(Waiting& me);
    void wake(const std::vector<Waiting*>& woken);
    void drop_waiting();  // the Admission goes: those waiting are never resumed
    http::Task<void> lead_call(RedisLimiter::Ask& own);
    RedisLimiter::Lease lease_for(const std::string& consumer, const config::Tier& tier);
    void take_answer(const std::string& consumer, const config::Tier& tier, RedisLimiter::Ask& ask,
                     RedisLimiter::Lease& lease, RedisLimiter::Slices* slices, Outcome& outcome);
    // The waiting asks that ride along with `own`'s call (Cluster: those of its slot only).
    std::vector<Waiting*> take_riders(const RedisLimiter::Ask& own);
    std::vector<Waiting*> waiting_;
    bool admitting_ = false;
    void admit_locally(const std::string& consumer, const config::Tier& tier,
                       const Charge& reserve, Outcome& outcome);
    // With Redis and failure_mode open, the in-process limiter follows what Redis admitted, on
    // this instance's share of each limit (limit ÷ the live instances), so that an outage
    // starts from buckets as used as the fleet's and the fleet stays near its limits.
    bool shadowing() const;
    const config::Tier& local_tier(const config::Tier& tier);
    // redis.admission lease (lease_admission.cpp): admits from this worker's slices when they
    // hold the request, and then renews them in the background once they run low.
    bool admit_from_slices(const std::string& consumer, const config::Tier& tier,
                           const Charge& reserve, Outcome& outcome);
    http::Task<void> renew_slices(std::string consumer, config::Tier tier);
    // The slices an admission in Redis asks for along with the request (null: none).
    std::unique_ptr<RedisLimiter::Slices> slices_wanted(const std::string& consumer,
                                                        const config::Tier& tier,
                                                        const Charge& reserve);
    // The answer to the slices asked for (no decision: the call failed).
    void slices_granted(const std::string& consumer, const config::Tier& tier,
                        const RedisLimiter::Slices& slices, std::optional<Decision>& decision);
    // Queues slices to give back to Redis, and flushes at once unless `flush_now` is false.
    void give_back(std::vector<LeaseSlices::Unused> unused, bool flush_now = true);
    void arm_slice_timer();
    // Every renew_every while this worker holds leases: their renewals ride along.
    void arm_renew_timer();
    bool redis_usable();
    void redis_result(bool ok);
    // Sends pages of the backlog until it is empty (`everything`) or none is due, or Redis
    // fails.
    http::Task<void> send_backlog(bool everything);
    // Redis Cluster: what of `page` an admission of `consumer` may carry (its slot's work; the
    // rest is requeued and flushed at once), and a page sent as a call per slot. Without
    // Cluster, carry_for returns the page as it is.
    RedisLimiter::Backlog carry_for(const std::string& consumer, RedisLimiter::Backlog page);
    http::Task<bool> send_by_slot(RedisLimiter::Backlog page);
    // Something was queued: flush soon (or at once when much is waiting, or `now`).
    void schedule_flush(bool now = false);
    void arm_flush_timer(std::chrono::milliseconds delay);
    // The page to queue into, the next page to carry, and putting a page back (a failed call's,
    // before what was queued meanwhile).
    RedisLimiter::Backlog& page_to_fill();
    RedisLimiter::Backlog take_page();
    // Whether the oldest page should ride along with the next call: it is full, holds what
    // must go at once, or waited flush_delay.
    bool page_due() const;
    void requeue(RedisLimiter::Backlog&& carried);

    LocalLimiter& local_;
    UsageLedger& ledger_;
    const config::Config& config_;
    http::Executor executor_;
    observability::Metrics& metrics_;
    redis::Client* client_;
    std::unique_ptr<RedisLimiter> redis_;
    std::deque<RedisLimiter::Backlog> pages_;  // work waiting for Redis, oldest first
    std::size_t queued_ = 0;                   // operations in pages_
    std::unique_ptr<http::Timer> flush_timer_;
    bool flush_armed_ = false;
    bool flushing_ = false;
    std::shared_ptr<RedisLeases> leases_;  // with Redis: this worker's concurrency leases
    std::unique_ptr<LeaseSlices> slices_;  // redis.admission lease only
    const FleetSize* fleet_;
    // The tiers scaled to this instance's share, by tier name and instance count. Kept: local
    // decisions point into them.
    struct Share {
        std::vector<config::Limit> source;  // the tier's limits it was made from
        std::unique_ptr<config::Tier> tier;
    };
    // Found by the tier's name without copying it (local_tier runs once per request).
    struct ShareOrder {
        using is_transparent = void;
        using Key = std::pair<std::string, unsigned>;
        using View = std::pair<std::string_view, unsigned>;
        static View of(const Key& key) { return {key.first, key.second}; }
        static View of(const View& view) { return view; }
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const { return of(a) < of(b); }
    };
    std::map<ShareOrder::Key, Share, ShareOrder> shares_;
    std::vector<std::unique_ptr<config::Tier>> replaced_shares_;  // a reload changed the tier
    std::unique_ptr<http::Timer> slice_timer_;
    bool slice_armed_ = false;
    std::unique_ptr<http::Timer> renew_timer_;
    bool renew_armed_ = false;
    void become_ready();

    std::atomic<bool> ready_{true};
    std::function<void()> tell_ready_;
    std::unique_ptr<http::Timer> grace_timer_;  // failure_mode open: ready anyway
    int consecutive_failures_ = 0;
    std::chrono::steady_clock::time_point paused_until_{};
};

}  // namespace llmgw::limits
