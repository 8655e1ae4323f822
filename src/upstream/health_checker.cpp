// One coroutine per checked endpoint: GET the health path, count passes and failures.
#include "llmgw/upstream/health_checker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "background_get.hpp"
#include "llmgw/upstream/backend_queue.hpp"

namespace llmgw::upstream {

namespace net = http::net;

namespace {

// One check: passes on a 2xx answer within the timeout.
http::Task<bool> check_once(const config::Endpoint& endpoint, tls::ClientContext* tls,
                                const config::HealthCheck& check) {
    const auto answer = co_await background_get(
        endpoint, tls, check.path,
        std::chrono::duration_cast<std::chrono::milliseconds>(check.timeout), 0);
    co_return answer && answer->status >= 200 && answer->status < 300;
}

http::Task<void> keep_checking(std::shared_ptr<BackendState> owner, std::size_t index) {
    const auto& backend = owner->config().name;
    const auto& check = *owner->config().health_check;
    auto& state = owner->endpoint(index);
    http::Timer timer(co_await net::this_coro::executor);
    unsigned passes = 0;
    unsigned failures = 0;
    for (;;) {
        const bool passed = co_await check_once(state.endpoint, owner->tls(), check);
        passes = passed ? passes + 1 : 0;
        failures = passed ? 0 : failures + 1;
        const bool healthy = state.healthy.load();
        if (healthy && failures >= check.unhealthy_after) {
            state.healthy = false;
            spdlog::warn(
                "backend {}: endpoint {} failed {} health checks: no more traffic until it "
                "recovers",
                backend, state.endpoint.url, failures);
        } else if (!healthy && passes >= check.healthy_after) {
            state.healthy = true;
            spdlog::info("backend {}: endpoint {} is healthy again", backend, state.endpoint.url);
            // Its free slots are new capacity: requests waiting in the queue may take them.
            if (auto* queue = owner->queue()) queue->slot_freed();
        }
        timer.expires_after(check.interval);
        auto [ec] = co_await timer.async_wait(net::as_tuple(http::use_awaitable));
        if (ec || owner->retired.load()) co_return;
    }
}

}  // namespace

void start_health_checks(http::Executor executor,
                         const std::vector<std::shared_ptr<BackendState>>& backends) {
    for (const auto& backend : backends) {
        if (!backend->config().health_check) continue;
        for (std::size_t i = 0; i < backend->size(); ++i)
            net::co_spawn(executor, keep_checking(backend, i), net::detached);
    }
}

}  // namespace llmgw::upstream
