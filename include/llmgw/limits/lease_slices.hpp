// redis.admission lease: the slices of consumers' limits one worker took from Redis, spent
// without asking Redis.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/reservation.hpp"

namespace llmgw::limits {

// A slice is taken out of the shared limit in Redis (a bucket's level, a quota's count) before
// it is spent here, so the fleet never hands out more than the limit holds. What a slice costs
// is elsewhere: a rate bucket refills while slices wait to be spent, so over any stretch of
// time the fleet admits at most the exact figure plus what the slices held at its start
// (docs/rate-limits.md: instances × lease_fraction × the limit); a quota's slice belongs to the
// window it was counted in and dies with it. Unused slices are given back (idle, reload, drain).
//
// One per worker, used from its thread only: no locks.
class LeaseSlices {
public:
    // `fraction`: the most of any limit one worker holds (lease_fraction ÷ workers).
    explicit LeaseSlices(double fraction) : fraction_(fraction) {}

    // A full slice of `limit`: `fraction` of its amount (rates: of the smaller of amount and
    // burst), whole units, at least 0.
    static std::uint64_t slice_size(const config::Limit& limit, double fraction);
    // What one request takes from `limit`: 1 from request limits, else its share of `reserve`.
    static std::uint64_t share(const config::Limit& limit, const Charge& reserve);

    // Whether slices can ever admit this request of the tier: the tier has limits and no
    // max_concurrent (a consumer's cap is counted in Redis), and every full slice holds the
    // request's share. Otherwise the tier's requests are decided in Redis, exactly.
    bool leasable(const config::Tier& tier, const Charge& reserve) const;

    // Admits from the consumer's slices if every limit's slice holds the request's share (a
    // token or cost slice with nothing to reserve: while anything is left), taking it from
    // each; nullopt (nothing taken) otherwise. The states report what Redis had left at the
    // last grant plus what the slices still hold.
    std::optional<Decision> take(const std::string& consumer, const config::Tier& tier,
                                 const Charge& reserve, Clock::time_point now);
    // What to ask Redis for to fill the consumer's slices of the tier, per limit (0: full),
    // counting what calls under way asked for already: a worker never holds more than a full
    // slice, however many of its requests go to Redis at once. Each ask ends with add() (what
    // was granted) or cancel() (the call failed).
    std::vector<std::uint64_t> ask(const std::string& consumer, const config::Tier& tier,
                                   Clock::time_point now);
    // Adds what Redis granted at `now` for `asked`, with its states after the grant (updated in
    // place to count what the slices now hold).
    void add(const std::string& consumer, const config::Tier& tier,
             const std::vector<std::uint64_t>& asked, const std::vector<std::uint64_t>& granted,
             std::vector<LimitState>& states, Clock::time_point now);
    void cancel(const std::string& consumer, const config::Tier& tier,
                const std::vector<std::uint64_t>& asked);
    // Whether a slice of the consumer's tier is down to half or less: renew ahead of need.
    bool low(const std::string& consumer, const config::Tier& tier) const;
    // One renewal at a time per consumer and tier: false when one is under way.
    bool begin_renewal(const std::string& consumer, const config::Tier& tier);
    void end_renewal(const std::string& consumer, const config::Tier& tier);

    // A slice taken out to be given back to Redis.
    struct Unused {
        std::string consumer;
        config::Tier tier;  // as it was when the slice was granted
        std::size_t index = 0;
        std::uint64_t amount = 0;
        Clock::time_point granted_at;
    };
    // Slices to give back: those of a tier that changed on reload (found by take/add), and
    // with take_idle / take_all those unused since `before` / all of them.
    std::vector<Unused> take_stale();
    std::vector<Unused> take_idle(Clock::time_point before);
    std::vector<Unused> take_all();
    bool empty() const { return entries_.empty(); }

private:
    struct Slice {
        std::uint64_t held = 0;
        std::uint64_t asked = 0;  // by calls under way
        Clock::time_point granted_at{};
        Clock::time_point expires = Clock::time_point::max();  // a quota's window end
        std::uint64_t remaining_in_redis = 0;                   // at the last grant
        std::chrono::seconds reset{0};
    };
    struct Entry {
        std::string consumer;
        config::Tier tier;
        std::vector<Slice> slices;
        Clock::time_point last_used{};
        bool renewing = false;
    };
    // The consumer's entry for the tier, started afresh (the old slices to give back) when the
    // tier's limits changed (a reload); slices of a quota window that ended are dropped (already counted).
    Entry& entry(const std::string& consumer, const config::Tier& tier, Clock::time_point now);
    static void give_back(Entry& entry, std::vector<Unused>& to);
    // The entries' key, consumer '\n' tier name, in a buffer reused by every lookup.
    const std::string& key_of(const std::string& consumer, const config::Tier& tier) const;

    double fraction_;
    std::unordered_map<std::string, Entry> entries_;  // by consumer '\n' tier name
    std::vector<Unused> stale_;
    mutable std::string key_;
};

}  // namespace llmgw::limits
