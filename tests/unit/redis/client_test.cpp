// Specification of redis::Client against a real redis-server: replies, pipelining, scripts,
// AUTH/SELECT, and bounded behaviour when Redis is slow, down, restarted or the client stops.
#include "llmgw/redis/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "pumped_io.hpp"
#include "support/ports.hpp"
#include "support/redis_server.hpp"

namespace llmgw::redis {
namespace {

namespace asio = boost::asio;
using testing::RedisServer;
using Clock = std::chrono::steady_clock;
using Kind = Error::Kind;
using testing::describe;
using testing::ms_since;
using namespace std::chrono_literals;

// (GCC 12 cannot compile a braced std::string list inside a co_await expression.)
Task<void> incr(Client& client, std::string key, int& succeeded, int& finished) {
    std::vector<std::string> args{"INCR", std::move(key)};
    auto result = co_await client.command(std::move(args));
    if (result && result->is_integer()) ++succeeded;
    ++finished;
}

class RedisClient : public testing::PumpedIo {
protected:
    RedisServer server = RedisServer::start();

    Client::Options options(uint16_t port = 0) {
        Client::Options o;
        o.host = "127.0.0.1";
        o.port = port ? port : server.port();
        o.timeout = 1s;  // generous: the tests about timeouts set their own
        o.reconnect_min = 20ms;
        o.reconnect_max = 200ms;
        return o;
    }
};

TEST_F(RedisClient, SetGetAndIncrRoundTrip) {
    auto client = started(options());
    auto set = run(client->command({"SET", "greeting", "hello world"}));
    ASSERT_TRUE(set) << describe(set);
    EXPECT_TRUE(set->is_status());
    EXPECT_EQ(set->str, "OK");
    auto get = run(client->command({"GET", "greeting"}));
    ASSERT_TRUE(get) << describe(get);
    EXPECT_TRUE(get->is_string());
    EXPECT_EQ(get->str, "hello world");
    EXPECT_EQ(run(client->command({"INCR", "n"}))->integer, 1);
    EXPECT_EQ(run(client->command({"INCRBY", "n", "41"}))->integer, 42);
}

TEST_F(RedisClient, BinarySafeArgumentsAndValues) {
    auto client = started(options());
    const std::string value("a\0b\r\nc", 6);
    ASSERT_TRUE(run(client->command({"SET", "bin", value})));
    EXPECT_EQ(run(client->command({"GET", "bin"}))->str, value);
}

TEST_F(RedisClient, ArraysAndNilsAreCopiedIntoReplies) {
    auto client = started(options());
    ASSERT_TRUE(run(client->command({"RPUSH", "list", "a", "b", "c"})));
    auto range = run(client->command({"LRANGE", "list", "0", "-1"}));
    ASSERT_TRUE(range && range->is_array()) << describe(range);
    ASSERT_EQ(range->elements.size(), 3u);
    EXPECT_EQ(range->elements[2].str, "c");

    auto missing = run(client->command({"GET", "no-such-key"}));
    ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->is_nil());

    auto mixed = run(client->command({"MGET", "list-missing", "n"}));
    ASSERT_TRUE(mixed && mixed->is_array());
    EXPECT_TRUE(mixed->elements[0].is_nil());
}

TEST_F(RedisClient, ErrorRepliesAreServerErrors) {
    auto client = started(options());
    ASSERT_TRUE(run(client->command({"SET", "text", "abc"})));
    auto result = run(client->command({"INCR", "text"}));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, Kind::server_error);
    EXPECT_NE(result.error().message.find("not an integer"), std::string::npos)
        << result.error().message;

    auto unknown = run(client->command({"NOSUCHCOMMAND"}));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind, Kind::server_error);
    EXPECT_TRUE(client->connected()) << "an error reply does not end the connection";
}

TEST_F(RedisClient, ThousandConcurrentIncrsPipelineOnOneConnection) {
    auto client = started(options());
    int succeeded = 0, finished = 0;
    for (int i = 0; i < 1000; ++i)
        asio::co_spawn(io, incr(*client, "counter", succeeded, finished), asio::detached);
    ASSERT_TRUE(run_until([&] { return finished == 1000; }, 10s)) << finished << " finished";
    EXPECT_EQ(succeeded, 1000);
    EXPECT_EQ(run(client->command({"GET", "counter"}))->str, "1000");
    EXPECT_EQ(server.cli({"INFO", "clients"}).find("connected_clients:2") != std::string::npos,
              true)
        << "one client connection (plus redis-cli's own)";
}

TEST_F(RedisClient, EvalLoadsTheScriptWhenRedisDoesNotKnowIt) {
    auto client = started(options());
    const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    EXPECT_EQ(server.cli({"SCRIPT", "EXISTS", script.sha1()}), "0");

    auto first = run(client->eval(script, {"tokens"}, {"5"}));
    ASSERT_TRUE(first) << describe(first);
    EXPECT_EQ(first->integer, 5);
    EXPECT_EQ(server.cli({"SCRIPT", "EXISTS", script.sha1()}), "1");

    EXPECT_EQ(run(client->eval(script, {"tokens"}, {"1"}))->integer, 6);
    EXPECT_EQ(server.cli({"SCRIPT", "FLUSH"}), "OK");
    auto after_flush = run(client->eval(script, {"tokens"}, {"4"}));
    ASSERT_TRUE(after_flush) << describe(after_flush);
    EXPECT_EQ(after_flush->integer, 10);
}

// A script with a function form goes by FCALL: loaded at the first call, and again after
// FUNCTION FLUSH or a restart (the library was not persisted) without the call failing.
TEST_F(RedisClient, AScriptsFunctionIsLoadedWhenRedisLacksIt) {
    auto client = started(options());
    const auto script = Script::with_function(
        "test", "local function add(k, a) return redis.call('INCRBY', k[1], a[1]) end", "add");
    ASSERT_EQ(script.function().size(), std::string("llmgw_test_").size() + 16);
    auto first = run(client->eval(script, {"tokens"}, {"5"}));
    ASSERT_TRUE(first) << describe(first);
    EXPECT_EQ(first->integer, 5);
    EXPECT_NE(server.cli({"FUNCTION", "LIST"}).find(script.function()), std::string::npos);
    EXPECT_EQ(server.cli({"FUNCTION", "FLUSH"}), "OK");
    auto after_flush = run(client->eval(script, {"tokens"}, {"4"}));
    ASSERT_TRUE(after_flush) << describe(after_flush);
    EXPECT_EQ(after_flush->integer, 9);
    const auto stats = server.cli({"INFO", "commandstats"});
    EXPECT_NE(stats.find("cmdstat_fcall:calls=4,"), std::string::npos) << stats;  // each retried once
    EXPECT_EQ(stats.find("cmdstat_evalsha"), std::string::npos) << stats;
    server.kill();
    ASSERT_TRUE(run_until([&] { return !client->connected(); }));
    server.restart();
    ASSERT_TRUE(run_until([&] { return client->connected(); }, 2s));
    auto after_restart = run(client->eval(script, {"tokens"}, {"1"}));
    ASSERT_TRUE(after_restart) << describe(after_restart);
    EXPECT_EQ(after_restart->integer, 1) << "a fresh server";
}

// Where FCALL is no command (Redis 6, or renamed away as here), or FUNCTION LOAD is refused (an
// ACL), the same script goes by EVALSHA; each call answers.
TEST_F(RedisClient, AScriptGoesByEvalshaWhereRedisRefusesFunctions) {
    const auto script = Script::with_function(
        "test", "local function add(k, a) return redis.call('INCRBY', k[1], a[1]) end", "add");
    auto without = RedisServer::start({"--rename-command", "FCALL", "\"\""});
    auto client = started(options(without.port()));
    for (const int expected : {2, 4}) {
        auto result = run(client->eval(script, {"n"}, {"2"}));
        ASSERT_TRUE(result) << describe(result);
        EXPECT_EQ(result->integer, expected);
    }
    auto stats = without.cli({"INFO", "commandstats"});
    EXPECT_NE(stats.find("cmdstat_evalsha:calls=3,"), std::string::npos) << stats;  // 2 + NOSCRIPT's retry
    EXPECT_EQ(without.cli({"FUNCTION", "LIST"}), "");

    auto refused = RedisServer::start();
    ASSERT_EQ(refused.cli({"ACL", "SETUSER", "default", "-function"}), "OK");
    auto other = started(options(refused.port()));
    for (const int expected : {2, 4}) {
        auto result = run(other->eval(script, {"n"}, {"2"}));
        ASSERT_TRUE(result) << describe(result);
        EXPECT_EQ(result->integer, expected);
    }
    stats = refused.cli({"INFO", "commandstats"});
    EXPECT_NE(stats.find("cmdstat_fcall:calls=2,"), std::string::npos) << "the first, its retry: " << stats;
    EXPECT_NE(stats.find("cmdstat_evalsha:calls=3,"), std::string::npos) << stats;
}

TEST_F(RedisClient, ScriptErrorsAreServerErrors) {
    auto client = started(options());
    const Script script("return redis.call('INCR', KEYS[1], 'extra')");
    auto result = run(client->eval(script, {"k"}, {}));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, Kind::server_error);
}

TEST_F(RedisClient, AuthenticatesAndSelectsTheDatabaseOnConnect) {
    auto secured = RedisServer::start({"--requirepass", "s3cret pass"});
    auto o = options(secured.port());
    o.password = "s3cret pass";
    o.db = 3;
    auto client = started(o);
    ASSERT_TRUE(run(client->command({"SET", "where", "db3"})));
    EXPECT_EQ(secured.cli({"-n", "3", "GET", "where"}), "db3");
    EXPECT_EQ(secured.cli({"-n", "0", "GET", "where"}), "");

    o.username = "default";  // the AUTH user password form
    auto named = started(o);
    EXPECT_EQ(run(named->command({"GET", "where"}))->str, "db3");
    secured.stop();
}

TEST_F(RedisClient, WrongPasswordNeverCountsAsConnected) {
    auto secured = RedisServer::start({"--requirepass", "right"});
    auto o = options(secured.port());
    o.password = "wrong";
    Client client(io.get_executor(), o);
    client.start();
    EXPECT_FALSE(run_until([&] { return client.connected(); }, 300ms));
    auto result = run(client.command({"PING"}));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, Kind::not_connected);
    secured.stop();
}

TEST_F(RedisClient, SlowRedisTimesOutTheCallWhileTheLoopKeepsRunning) {
    auto o = options();
    o.timeout = 50ms;
    auto client = started(o);
    server.pause(500ms);

    // Other work on the same io_context: a 5 ms ticker.
    int ticks = 0;
    bool ticking = true;
    asio::steady_timer ticker(io);
    std::function<void()> tick = [&] {
        ticker.expires_after(5ms);
        ticker.async_wait([&](boost::system::error_code ec) {
            if (ec || !ticking) return;
            ++ticks;
            tick();
        });
    };
    tick();

    const auto start = Clock::now();
    auto result = run(client->command({"SET", "k", "v"}));
    const auto elapsed = ms_since(start);
    ticking = false;
    ticker.cancel();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, Kind::timeout);
    EXPECT_GE(elapsed, 45);
    EXPECT_LE(elapsed, 150);
    EXPECT_GE(ticks, 4) << "the io_context kept running other work";

    // The late reply is dropped safely; the connection stays usable after the pause.
    o.timeout = 2s;
    auto patient = started(o);
    auto later = run(patient->command({"GET", "k"}), 3s);
    ASSERT_TRUE(later) << describe(later);
    EXPECT_EQ(later->str, "v");
    EXPECT_TRUE(client->connected());
    EXPECT_TRUE(run(client->command({"PING"})));
}

TEST_F(RedisClient, CallsFailFastWhenRedisIsDown) {
    auto client = started(options());
    server.stop();
    ASSERT_TRUE(run_until([&] { return !client->connected(); }));
    for (int i = 0; i < 3; ++i) {
        const auto start = Clock::now();
        auto result = run(client->command({"PING"}));
        EXPECT_LT(ms_since(start), 5);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().kind, Kind::not_connected);
    }
}

TEST_F(RedisClient, NeverConnectedClientFailsFast) {
    Client client(io.get_executor(), options(testing::free_port()));
    client.start();
    run_until([] { return false; }, 100ms);  // a few refused connects
    const auto start = Clock::now();
    auto result = run(client.eval(Script("return 1"), Arguments{}, Arguments{}));
    // At once, not after the call's 1 s timeout (the bound leaves room for a loaded machine).
    EXPECT_LT(ms_since(start), 100);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, Kind::not_connected);
}

TEST_F(RedisClient, ReconnectsAfterRedisRestartsOnTheSamePort) {
    auto client = started(options());
    ASSERT_TRUE(run(client->command({"SET", "k", "1"})));
    server.kill();
    ASSERT_TRUE(run_until([&] { return !client->connected(); }));
    run_until([] { return false; }, 300ms);  // let a few reconnects fail
    server.restart();
    const auto restarted = Clock::now();
    ASSERT_TRUE(run_until([&] { return client->connected(); }, 1s))
        << "not connected 1 s after the restart";
    EXPECT_LT(ms_since(restarted), 1000);
    auto result = run(client->command({"INCR", "k"}));
    ASSERT_TRUE(result) << describe(result);
    EXPECT_EQ(result->integer, 1) << "a fresh server";
}

TEST_F(RedisClient, ReplacesAConnectionThatStopsAnswering) {
    auto o = options();
    o.timeout = 50ms;
    o.connect_timeout = 200ms;
    auto client = started(o);
    server.pause(1500ms);
    const auto start = Clock::now();
    ASSERT_TRUE(run_until([&] {
        run(client->command({"PING"}));
        return !client->connected();
    }));
    EXPECT_GE(ms_since(start), 190);
    EXPECT_LT(ms_since(start), 600);
    ASSERT_TRUE(run_until([&] { return client->connected(); }, 3s))
        << "reconnects once Redis answers again";
    EXPECT_TRUE(run(client->command({"PING"})));
}

TEST_F(RedisClient, StopCompletesCallsInFlightWithAnError) {
    auto client = started(options());
    server.pause(500ms);
    int finished = 0;
    std::vector<std::optional<Result>> results(10);
    for (auto& slot : results) {
        asio::co_spawn(io, client->command({"INCR", "n"}),
                       [&slot, &finished](std::exception_ptr, Result r) {
                           slot = std::move(r);
                           ++finished;
                       });
    }
    run_until([] { return false; }, 20ms);  // all ten are written and waiting
    const auto start = Clock::now();
    client->stop();
    ASSERT_TRUE(run_until([&] { return finished == 10; }, 100ms));
    EXPECT_LT(ms_since(start), 50);
    for (auto& r : results) {
        ASSERT_FALSE(*r);
        EXPECT_EQ(r->error().kind, Kind::disconnected) << r->error().message;
    }
    EXPECT_FALSE(client->connected());
    EXPECT_EQ(run(client->command({"PING"})).error().kind, Kind::not_connected);

    client->start();  // a stopped client can start again
    EXPECT_TRUE(run_until([&] { return client->connected(); }, 2s));
}

TEST_F(RedisClient, DestroyingTheClientWithCallsInFlightIsSafe) {
    auto client = started(options());
    server.pause(300ms);
    int finished = 0;
    Kind kind = Kind::timeout;
    asio::co_spawn(io, client->command({"PING"}), [&](std::exception_ptr, Result r) {
        kind = r ? Kind::protocol : r.error().kind;
        ++finished;
    });
    run_until([] { return false; }, 20ms);
    client.reset();
    ASSERT_TRUE(run_until([&] { return finished == 1; }, 100ms));
    EXPECT_EQ(kind, Kind::disconnected);
}

TEST_F(RedisClient, OnCallHookSeesEveryCallWithItsOutcome) {
    auto client = started(options());
    std::vector<bool> outcomes;
    client->on_call = [&](Clock::duration latency, bool ok) {
        EXPECT_GE(latency.count(), 0);
        outcomes.push_back(ok);
    };
    run(client->command({"SET", "k", "v"}));
    run(client->command({"INCR", "k"}));  // not an integer: server_error
    run(client->eval(Script("return 7"), Arguments{}, Arguments{}));
    client->stop();
    run(client->command({"PING"}));  // not_connected
    EXPECT_EQ(outcomes, (std::vector<bool>{true, false, true, false}));
}

TEST_F(RedisClient, RepliesWithinTheBoundsPassAndLargerOnesFailWithTheBoundNamed) {
    auto o = options();
    o.max_reply_bytes = 1 << 20;
    o.max_reply_elements = 1000;
    auto client = started(o);
    ASSERT_TRUE(run(client->command({"SET", "fits", std::string(1 << 20, 'x')})));
    ASSERT_TRUE(run(client->command({"SET", "big", std::string((1 << 20) + 1, 'x')})));
    std::vector<std::string> push{"RPUSH", "list"};
    for (int i = 0; i < 1000; ++i) push.push_back(std::to_string(i));
    ASSERT_TRUE(run(client->command(std::move(push))));

    auto fits = run(client->command({"GET", "fits"}));
    ASSERT_TRUE(fits) << describe(fits);
    EXPECT_EQ(fits->str.size(), 1u << 20);
    auto list = run(client->command({"LRANGE", "list", "0", "-1"}));
    ASSERT_TRUE(list) << describe(list);
    EXPECT_EQ(list->elements.size(), 1000u);

    auto big = run(client->command({"GET", "big"}));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().kind, Kind::protocol);
    EXPECT_NE(big.error().message.find("max_reply_bytes"), std::string::npos) << describe(big);
    ASSERT_TRUE(run_until([&] { return client->connected(); })) << "a fresh connection";
    ASSERT_TRUE(run(client->command({"RPUSH", "list", "one more"})));
    auto longer = run(client->command({"LRANGE", "list", "0", "-1"}));
    ASSERT_FALSE(longer);
    EXPECT_NE(longer.error().message.find("max_reply_elements"), std::string::npos)
        << describe(longer);
}

}  // namespace
}  // namespace llmgw::redis
