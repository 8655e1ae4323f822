// Step 2 (admit) and step 7 (settle) of the pipeline: a consumer's rate limits (token
// buckets) and quotas (UTC calendar windows), decided all-or-nothing per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmgw/config/config.hpp"

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
    // When not admitted: the refusing limit with the longest wait (the first such in tier order).
    const config::Limit* refused_by = nullptr;
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
    // request quotas. Token limits admit while anything is left (they are debited by settle).
    Decision admit(const std::string& consumer, const config::Tier& tier, Clock::time_point now);
    // Debits the LLM tokens a finished request used from the token buckets and token quotas.
    void settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens,
                Clock::time_point now);

private:
    struct Shard;
    std::vector<std::unique_ptr<Shard>> shards_;
};

// The start of the UTC calendar window (day or month) that contains `now`, and of the next one.
Clock::time_point window_start(config::Limit::Window window, Clock::time_point now);
Clock::time_point window_end(config::Limit::Window window, Clock::time_point now);

}  // namespace llmgw::limits
