// Admission's group commit against a real redis-server: requests ready in the same turn of the
// worker's event loop share one call.
#include "llmgw/limits/admission.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/config/loader.hpp"
#include "llmgw/limits/limiter.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/redis/client.hpp"
#include "support/redis_server.hpp"
#include "support/run_until.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

using llmgw::testing::run_until;

// The value of a sample line of `text` (a /metrics page) starting with `name`; -1 when absent.
double sample(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
}

TEST(RedisAdmission, RequestsReadyInTheSameTurnShareOneCall) {
    auto server = llmgw::testing::RedisServer::start();
    const auto config = std::make_shared<const llmgw::config::Config>(llmgw::config::load_string(
        "tiers: { free: { rate: { requests_per_second: 1000 } } }\n"
        "consumers: [ { name: acme, tier: free, keys: [ { sha256: \"" + std::string(64, 'a') + "\" } ] } ]\n"
        "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:9\" } ] } }\n"
        "routes: [ { name: r, backend: b, match: { path_prefix: / } } ]\n"
        "redis: { url: \"redis://127.0.0.1:" + std::to_string(server.port()) + "/0\", timeout: 2s }\n"));
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    llmgw::redis::Client::Options options;
    options.host = "127.0.0.1";
    options.port = server.port();
    options.timeout = 2s;
    llmgw::redis::Client client(io.get_executor(), options);
    client.start();
    ASSERT_TRUE(run_until(io, [&] { return client.connected(); }));
    llmgw::observability::Metrics metrics;
    llmgw::limits::LocalLimiter local;
    llmgw::limits::UsageLedger ledger;
    llmgw::limits::Admission admission(local, ledger, *config, io.get_executor(), metrics, &client);
    const auto& tier = config->tiers.at(0);
    const std::string consumer = "acme";
    const llmgw::limits::Charge nothing;  // named: the coroutines hold it by reference

    // Five requests, all ready before the worker's loop runs: the first leads a call, and the
    // other four are ready in the same turn, so they ride it.
    int admitted = 0, answered = 0;
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(io, admission.admit_with_redis(consumer, tier, nothing),
                       [&](std::exception_ptr error, llmgw::limits::Admission::Outcome outcome) {
                           if (error) std::rethrow_exception(error);
                           ++answered;
                           if (outcome.decision && outcome.decision->admitted && outcome.reservation.in_redis)
                               ++admitted;
                       });
    ASSERT_TRUE(run_until(io, [&] { return answered == 5; }));
    EXPECT_EQ(admitted, 5) << "each admitted, in Redis";
    const auto page = metrics.serialize();
    EXPECT_EQ(sample(page, "llmgw_redis_admission_calls_total{kind=\"admit\"}"), 1.0)
        << "one call for the five (a call that left at once would have taken the first alone)";
    client.stop();
}

}  // namespace
