// Step 2 (admit) and step 7 (settle) of the pipeline: a consumer's rate limits (token
// buckets) and quotas (UTC calendar windows), decided all-or-nothing per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/limits/concurrency_counter.hpp"
#include "llmgw/limits/reservation.hpp"

namespace llmgw::limits {

// Wall-clock time: quotas follow the UTC calendar.
using Clock = std::chrono::system_clock;

// Where one limit stands after a decision (for the RateLimit-* / x-ratelimit-* headers).
struct LimitState {
    const config::Limit* limit = nullptr;
    std::uint64_t remaining = 0;    // requests or tokens left now (0 when exhausted)
    std::chrono::seconds reset{0};  // until the bucket is full again / the window ends
};

struct Decision {
    bool admitted = true;
    // When not admitted: the refusing limit with the longest wait (the first such in tier order);
    // null when only the tier's max_concurrent refused (over_concurrency).
    const config::Limit* refused_by = nullptr;
    bool over_concurrency = false;
    std::chrono::seconds retry_after{0};  // whole seconds until it would admit, >= 1 when refused
    std::vector<LimitState> states;       // one per limit of the tier, in the tier's order
};

// The in-process store: shared by all workers of one instance (sharded by consumer, each
// shard behind its own mutex). Also the fallback when Redis is unavailable.
class LocalLimiter {
public:
    LocalLimiter();
    ~LocalLimiter();
    LocalLimiter(const LocalLimiter&) = delete;
    LocalLimiter& operator=(const LocalLimiter&) = delete;

    // Admits only if every limit allows; then takes one request from request buckets and
    // request quotas, and `reserve` from token and cost limits. A token or cost limit admits
    // when the reservation fits (see reservation.hpp: needed); with nothing to reserve, while
    // anything is left.
    Decision admit(const std::string& consumer, const config::Tier& tier, const Charge& reserve,
                   Clock::time_point now);
    Decision admit(const std::string& consumer, const config::Tier& tier, Clock::time_point now) {
        return admit(consumer, tier, Charge{}, now);
    }
    // Settles a reservation taken at `reserved_at`: token and cost limits get back what was
    // reserved and not used, or are debited what was used beyond it (buckets may go into debt).
    void settle(const std::string& consumer, const config::Tier& tier, const Charge& reserved,
                const Charge& actual, Clock::time_point reserved_at, Clock::time_point now);
    // Takes one request and `reserve` from every limit whether or not they admit (a request
    // bucket stops at empty; a token bucket may go into debt): what an admission decided
    // elsewhere (Redis) used, so that these buckets are not fresh when they have to decide.
    void debit(const std::string& consumer, const config::Tier& tier, const Charge& reserve,
               Clock::time_point now);
    // Where each limit of the tier stands for the consumer now, taking nothing (what is left).
    std::vector<LimitState> peek(const std::string& consumer, const config::Tier& tier,
                                 Clock::time_point now);
    // Debits the LLM tokens a finished request used, with nothing reserved.
    void settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens,
                Clock::time_point now) {
        settle(consumer, tier, Charge{}, Charge{tokens, 0}, now, now);
    }
    // Each consumer's requests in flight (tier max_concurrent), in process.
    ConcurrencyCounter& concurrency() { return *concurrency_; }

private:
    struct Shard;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::shared_ptr<ConcurrencyCounter> concurrency_ = ConcurrencyCounter::make();
};

// The start of the UTC calendar window (day or month) that contains `now`, and of the next one.
Clock::time_point window_start(config::Limit::Window window, Clock::time_point now);
Clock::time_point window_end(config::Limit::Window window, Clock::time_point now);

}  // namespace llmgw::limits
