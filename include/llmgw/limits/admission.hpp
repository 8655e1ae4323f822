// One worker's way to the limits: Redis when configured (shared by every instance), the
// in-process limiter otherwise — and, with failure_mode open, while Redis is unavailable.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/observability/metrics.hpp"

namespace llmgw::redis {
class Client;
}

namespace llmgw::limits {

class RedisLimiter;
class RedisUsage;

class Admission {
public:
    // After this many Redis failures in a row, Redis is not asked for a while, so a hung
    // Redis does not add its timeout to every request.
    static constexpr int failures_before_pause = 3;
    static constexpr auto pause = std::chrono::seconds(1);

    // `redis`: this worker's started Redis connection when `redis` is configured, else null.
    Admission(LocalLimiter& local, UsageLedger& ledger, const config::Config& config,
              http::net::any_io_executor executor, observability::Metrics& metrics,
              redis::Client* redis);
    ~Admission();

    struct Outcome {
        std::optional<Decision>
            decision;  // nullopt: Redis is unavailable and failure_mode is closed
        // When Redis was asked: the call's start and end (a trace shows it as a span).
        std::optional<std::pair<std::chrono::system_clock::time_point,
                                std::chrono::system_clock::time_point>>
            redis_call{};
    };
    http::Task<Outcome> admit(const std::string& consumer, const config::Tier& tier);
    // For /readyz (any thread): without Redis, at once; with it, once this worker's connection
    // is up (failure_mode open also after open_mode_grace, to start on local buckets).
    bool ready() const { return ready_.load(); }
    // Calls `tell` once, on this worker's thread, when ready (at once when it already is).
    void when_ready(std::function<void()> tell);
    static constexpr auto open_mode_grace = std::chrono::seconds(2);
    // Runs in the background: the answer has already gone to the client.
    void settle(const std::string& consumer, const config::Tier& tier, std::uint64_t tokens);
    // Adds one answered request to the consumer's usage for today (in process, and in Redis
    // when configured), also in the background.
    void record_usage(const std::string& consumer, std::uint64_t prompt_tokens,
                      std::uint64_t completion_tokens, bool estimated, bool cached);

private:
    bool redis_usable();
    void redis_result(bool ok);

    LocalLimiter& local_;
    UsageLedger& ledger_;
    const config::Config& config_;
    http::net::any_io_executor executor_;
    observability::Metrics& metrics_;
    redis::Client* client_;
    std::unique_ptr<RedisLimiter> redis_;
    std::unique_ptr<RedisUsage> redis_usage_;
    void become_ready();

    std::atomic<bool> ready_{true};
    std::function<void()> tell_ready_;
    std::unique_ptr<http::net::steady_timer> grace_timer_;  // failure_mode open: ready anyway
    int consecutive_failures_ = 0;
    std::chrono::steady_clock::time_point paused_until_{};
};

}  // namespace llmgw::limits
