// The limiter kept in Redis: LocalLimiter's decisions, shared by every llmgw instance using one server.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

// A request's concurrency lease, asked for with its admission (tier max_concurrent).
struct ConcurrencyLease {
    unsigned cap = 0;  // 0: none asked
    std::string key;   // RedisLimiter::concurrency_key(consumer)
    std::string member;
    std::chrono::milliseconds duration{0};
};

// Same decisions as LocalLimiter (buckets, UTC windows, all-or-nothing, retry_after, states),
// with the state in Redis so that every instance sharing it enforces one limit. One round
// trip per call: one Lua script covers all of the tier's limits, atomically, and reads the
// time with Redis TIME (no clock skew between instances).
//
// Keys: one hash per consumer and tier, {prefix}rl:{<consumer>}:<tier>, consumer and tier
// %-escaped (the braces are a Cluster hash tag: one consumer's keys share a slot), so one
// admission reads and writes one key whatever the number of limits. Each limit has two fields,
// `<index>:<unit>.<kind>.<period or window>:a` and `:b`: a bucket's level and time (µs), a
// quota's count and UTC window ("d20261125", "m202611"). Like LocalLimiter, a reload that
// changes only amount or burst keeps the counters; another kind of limit in the same place
// starts afresh. The hash expires once its last bucket would be full and a day after its
// quotas' windows end. Versions before kept each limit in a key of its own (the hash's key,
// ':' and the field): a limit missing from the hash starts from that key, so an upgrade keeps
// the counts.
//
// Concurrency (tier max_concurrent): {prefix}cc:{<consumer>}, a sorted set of the consumer's
// requests in flight on every instance: member = a worker's lease name, score = when its lease
// ends (ms, Redis TIME). Expired members are dropped before each count, so a crashed
// instance's slots come back by themselves; the key expires with its last lease.
//
// Settles and usage records are not calls of their own: they wait in a Backlog and ride along
// with the next call (one script does all of it), so an admitted request costs at most one
// round trip.
//
// Use from the Client's executor thread. `consumer` and `tier` must outlive the call.
class RedisLimiter {
  public:
    // Work waiting for the next call. Usage records of one consumer and day are summed into
    // one, and so are settles of one consumer's tier reserved in the same second: under load
    // a page of work costs Redis a few commands per consumer, not per request.
    struct Backlog {
        struct Settle {
            std::string key;                  // the consumer's tier
            std::vector<std::string> limit_args;  // its token and cost limits
            std::size_t limits = 0;
            std::uint64_t reserved_tokens = 0, reserved_cost = 0, used_tokens = 0, used_cost = 0;
            std::uint64_t reserved_at = 0;  // unix second
        };
        struct Usage {
            std::string key;  // the consumer's day
            DayUsage totals;
        };
        std::vector<Settle> settles;
        std::vector<Usage> usages;
        // Concurrency lease releases and renewals, then lease slices given back: the batch
        // script's keys and arguments.
        std::vector<std::string> lease_keys, lease_args, return_keys, return_args;
        std::size_t leases = 0, returns = 0;
        std::unordered_map<std::string, std::size_t> settle_index, usage_index;  // merge keys
        std::chrono::steady_clock::time_point since{};  // when its first operation was queued
        std::size_t size() const { return settles.size() + usages.size() + leases + returns; }
        bool empty() const { return size() == 0; }
    };

    explicit RedisLimiter(redis::Client& client, std::string key_prefix = "llmgw:");

    // Queues the settle of a reservation taken at `reserved_at`; nothing when the tier has no
    // token or cost limit or nothing changes.
    void queue_settle(Backlog& backlog, const std::string& consumer, const config::Tier& tier,
                      const Charge& reserved, const Charge& actual, Clock::time_point reserved_at) const;
    // Queues one answered request for the consumer's usage on `day` (YYYY-MM-DD).
    void queue_usage(Backlog& backlog, const std::string& consumer, const std::string& day,
                     const UsageRecord& record) const;

    // Queues giving a concurrency lease back, or renewing it for `lease` from now (a lease
    // already gone is not renewed).
    void queue_release(Backlog& backlog, const std::string& key, const std::string& member) const;
    void queue_renew(Backlog& backlog, const std::string& key, const std::string& member,
                     std::chrono::milliseconds lease) const;

    // Queues giving back `amount` of limit `index` of `tier`, taken as a lease slice at
    // `granted_at` and not used (a quota's only while its window lasts).
    void queue_return(Backlog& backlog, const std::string& consumer, const config::Tier& tier,
                      std::size_t index, std::uint64_t amount, Clock::time_point granted_at) const;

    using Lease = ConcurrencyLease;

    // redis.admission lease: slices of the tier's limits asked for with an admission (or alone,
    // `with_request` false: a renewal that admits no request), in the tier's order; `granted`
    // is filled with what each limit gave (whole units that were left, up to `want`).
    struct Slices {
        std::vector<std::uint64_t> want;
        bool with_request = true;
        std::vector<std::uint64_t> granted;
    };

    // One request's admission (the arguments of admit() below); `decision` is filled in.
    struct Ask {
        const std::string* consumer = nullptr;
        const config::Tier* tier = nullptr;
        Charge reserve;
        const ConcurrencyLease* lease = nullptr;
        Slices* slices = nullptr;
        std::optional<Decision> decision;
    };
    // Runs `carried` and then each ask's admission, in order, in one script call: concurrent
    // requests share a round trip. False when Redis failed (no decision is filled in then);
    // true with an empty decision for an answer of another shape.
    redis::Task<bool> admit_all(const Backlog& carried, std::span<Ask* const> asks);

    // Runs `carried` and then admits `reserve` in one script call; with `lease.cap` (0: none),
    // only while fewer than cap leases of the consumer are held, and then takes the lease (all
    // or nothing with the limits). nullopt when Redis failed (timeout, not connected, script
    // error): the caller falls back and keeps `carried`.
    // With `slices`, also asks for lease slices (see Slices).
    redis::Task<std::optional<Decision>> admit(const std::string& consumer, const config::Tier& tier,
                                               const Charge& reserve, const Backlog& carried,
                                               const ConcurrencyLease& lease,
                                               Slices* slices = nullptr);
    // Runs `carried` alone; false when Redis failed.
    redis::Task<bool> flush(const Backlog& carried);
    // Where each limit of the tier stands for the consumer, read without taking anything;
    // nullopt when Redis failed.
    redis::Task<std::optional<std::vector<LimitState>>> peek(const std::string& consumer,
                                                             const config::Tier& tier);

    // One call each, without a backlog (tests and tools).
    redis::Task<std::optional<Decision>> admit(const std::string& consumer, const config::Tier& tier);
    redis::Task<bool> settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens);

    // The hash that holds the consumer's limits of `tier`, and the field (two fields: `:a` and
    // `:b` appended) of limit `index` in it.
    std::string key(const std::string& consumer, const config::Tier& tier) const;
    static std::string field(const config::Tier& tier, std::size_t index);
    // The sorted set of the consumer's concurrency leases.
    std::string concurrency_key(const std::string& consumer) const;

  private:
    // The admissions' part of a batch call: the tiers they use (each once), their keys (each
    // once, numbered from 1 in `key_numbers`) and the admissions packed into one argument.
    struct Admissions {
        std::size_t count = 0;
        std::vector<const config::Tier*> tiers;
        redis::Arguments keys;
        std::unordered_map<std::string, std::uint64_t> key_numbers;
        std::string packed;
        // The last admission packed in full, when it asked for a request alone (no cap, no
        // slices): its tier and hash numbers, reserved tokens and cost. The same ask right
        // after it is packed as a run of repeats (limit_scripts.hpp): where its mark is in
        // `packed`, and how many it holds.
        std::optional<std::array<std::uint64_t, 4>> repeatable;
        const config::Tier* repeat_tier = nullptr;  // its tier and consumer
        const std::string* repeat_consumer = nullptr;
        std::optional<std::size_t> run_at;
        std::uint64_t run = 0;
    };
    redis::Task<std::optional<redis::Reply>> call(const Backlog& carried, Admissions admissions);
    // True when packed as a repeat of the one before.
    bool append_admission(const Ask& ask, Admissions& admissions) const;
    bool repeat_last(const Ask& ask, Admissions& admissions) const;
    // The tier's limits as the batch script reads them: its limit count, then each limit.
    const redis::Arguments& tier_arguments(const config::Tier& tier) const;
    // The last key made of a kind (a consumer's tier hash, a consumer's day of usage), kept:
    // a worker's requests come mostly from few consumers, so most requests make none.
    struct MadeKey {
        std::string consumer, other, key;
    };
    // `make()` makes the key when the last one does not fit (defined in redis_limiter.cpp).
    template <typename Make>
    const std::string& remember(MadeKey& made, const std::string& consumer, const std::string& other,
                                Make make) const;
    Backlog::Settle& settle_entry(Backlog& backlog, const std::string& hash, std::uint64_t at,
                                  const config::Tier& tier, std::size_t metered) const;

    redis::Client& client_;
    std::string prefix_;
    // tier_arguments' answers, made once per tier and kept while its limits stay the same (a
    // reload may put another tier where one was).
    struct TierArguments {
        bool made = false;
        std::vector<config::Limit> limits;
        redis::Arguments args;
    };
    mutable std::unordered_map<const config::Tier*, TierArguments> tier_arguments_;
    mutable MadeKey last_hash_, last_usage_;
};

}  // namespace llmgw::limits
