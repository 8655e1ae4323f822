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

#include "llmgw/limits/redis_limiter.hpp"
#include "llmgw/limits/redis_options.hpp"
#include "llmgw/limits/redis_usage.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

Admission::Admission(LocalLimiter& local, UsageLedger& ledger, const config::Config& config,
                     http::net::any_io_executor executor, observability::Metrics& metrics,
                     redis::Client* redis)
    : local_(local),
      ledger_(ledger),
      config_(config),
      executor_(std::move(executor)),
      metrics_(metrics),
      client_(redis) {
    if (client_ == nullptr) return;
    redis_ = std::make_unique<RedisLimiter>(*client_);
    redis_usage_ = std::make_unique<RedisUsage>(*client_);
    ready_ = client_->connected();
    // Told, not polled: the client's connect notification, and with failure_mode open the
    // end of the grace period, after which the worker starts on local buckets.
    client_->on_connected = [this] { become_ready(); };
    if (config_.redis->failure_mode == config::RedisConfig::FailureMode::open) {
        grace_timer_ = std::make_unique<http::net::steady_timer>(executor_, open_mode_grace);
        grace_timer_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) become_ready();
        });
    }
}

void Admission::record_usage(const std::string& consumer, std::uint64_t prompt_tokens,
                             std::uint64_t completion_tokens, bool estimated, bool cached) {
    const auto now = Clock::now();
    ledger_.record(consumer, now, prompt_tokens, completion_tokens, estimated, cached);
    if (!redis_usage_ || !redis_usable()) return;
    http::net::co_spawn(
        executor_,
        [this, consumer, day = UsageLedger::day_of(now), prompt_tokens, completion_tokens,
         estimated, cached]() -> http::Task<void> {
            const bool ok = co_await redis_usage_->record(consumer, day, prompt_tokens,
                                                          completion_tokens, estimated, cached);
            if (!ok) redis_result(false);
        },
        http::net::detached);
}

Admission::~Admission() = default;

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

http::Task<Admission::Outcome> Admission::admit(const std::string& consumer,
                                                const config::Tier& tier) {
    Outcome outcome;
    if (redis_usable()) {
        const auto asked = std::chrono::system_clock::now();
        auto decision = co_await redis_->admit(consumer, tier);
        outcome.redis_call.emplace(asked, std::chrono::system_clock::now());
        redis_result(decision.has_value());
        if (decision) {
            outcome.decision = std::move(decision);
            co_return outcome;
        }
    }
    if (redis_ && config_.redis->failure_mode == config::RedisConfig::FailureMode::closed)
        co_return outcome;
    if (redis_) metrics_.redis_fail_open();
    outcome.decision = local_.admit(consumer, tier, Clock::now());
    co_return outcome;
}

void Admission::settle(const std::string& consumer, const config::Tier& tier,
                       std::uint64_t tokens) {
    const bool token_limits = std::any_of(
        tier.limits.begin(), tier.limits.end(),
        [](const config::Limit& limit) { return limit.unit == config::Limit::Unit::tokens; });
    if (tokens == 0 || !token_limits) return;
    // The in-process limiter always learns the usage, so a fail-open period starts from
    // realistic buckets instead of full ones.
    local_.settle(consumer, tier, tokens, Clock::now());
    if (!redis_usable()) return;
    http::net::co_spawn(
        executor_,
        // The tier is copied: the config it belongs to may be replaced before Redis answers.
        [this, consumer, tier, tokens]() -> http::Task<void> {
            const bool ok = co_await redis_->settle(consumer, tier, tokens);
            if (!ok) redis_result(false);  // only admissions prove Redis healthy again
        },
        http::net::detached);
}

}  // namespace llmgw::limits
