// Specification of redis::Client over TLS (rediss://) against a real redis-server with TLS and
// certificates made at test time: the server is checked, a refused certificate never connects
// (and is counted and logged once), a client certificate is presented when asked for.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <iostream>

#include "llmgw/config/pem.hpp"
#include "llmgw/gateway/redis_options.hpp"
#include "llmgw/redis/client.hpp"
#include "pumped_io.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace llmgw::redis {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using testing::describe;
using testing::ms_since;
using testing::RedisServer;
using namespace std::chrono_literals;

class RedisTls : public testing::PumpedIo {
protected:
    RedisTls() : pki(testing::make_test_pki(dir)) {}

    RedisServer start_server(bool mutual = false) {
        RedisServer::Tls tls{pki.server_cert, pki.server_key, pki.ca_cert, {}, {}};
        if (mutual) {
            tls.client_cert = pki.client_cert;
            tls.client_key = pki.client_key;
        }
        return RedisServer::start_tls(tls);
    }

    // redis.tls as the loader leaves it: the files read.
    config::RedisTls settings(const std::string& ca_file) {
        config::RedisTls tls;
        tls.ca_file = ca_file;
        if (!ca_file.empty()) tls.ca_certificates = config::read_ca_certificates(ca_file);
        return tls;
    }

    Client::Options options(uint16_t port, const config::RedisTls& tls) {
        Client::Options o;
        o.host = "127.0.0.1";
        o.port = port;
        o.timeout = 1s;
        o.reconnect_min = 20ms;
        o.reconnect_max = 100ms;
        o.tls = gateway::redis_tls(tls);
        return o;
    }

    // Starts a client that must not connect; returns how many TLS failures it counted.
    int refused(Client::Options o) {
        Client client(io.get_executor(), std::move(o));
        int failures = 0;
        client.on_tls_failure = [&] { ++failures; };
        client.start();
        EXPECT_TRUE(run_until([&] { return failures >= 3; }, 5s)) << "retries and counts";
        EXPECT_FALSE(client.connected());
        auto call = run(client.command({"PING"}));
        EXPECT_FALSE(call);
        if (!call) {
            EXPECT_EQ(call.error().kind, Error::Kind::not_connected);
        }
        return failures;
    }

    testing::TempDir dir;
    testing::TestPki pki;
};

TEST_F(RedisTls, CallsAndScriptsRoundTripOverAVerifiedConnection) {
    auto server = start_server();
    auto client = started(options(server.port(), settings(pki.ca_cert)));
    ASSERT_TRUE(run(client->command({"SET", "k", std::string(100000, 'x')})));
    auto get = run(client->command({"GET", "k"}));
    ASSERT_TRUE(get) << describe(get);
    EXPECT_EQ(get->str.size(), 100000u);
    auto eval =
        run(client->eval(Script("return redis.call('INCRBY', KEYS[1], ARGV[1])"), {"n"}, {"5"}));
    ASSERT_TRUE(eval) << describe(eval);
    EXPECT_EQ(eval->integer, 5);
    EXPECT_EQ(server.cli({"GET", "n"}), "5");
}

// Reads and writes go on at once on one TLS stream: thousands of pipelined calls all answered,
// in order. Prints the time against the same calls on a plain connection.
TEST_F(RedisTls, ThousandsOfPipelinedCallsShareOneTlsConnection) {
    auto server = start_server();
    auto plain_server = RedisServer::start();
    auto tls_client = started(options(server.port(), settings(pki.ca_cert)));
    auto plain_options = options(plain_server.port(), settings(pki.ca_cert));
    plain_options.tls.reset();
    auto plain_client = started(plain_options);
    auto pipelined = [&](Client& client) {
        constexpr int calls = 10000;
        int answered = 0, in_order = 0;
        const auto before = run(client.command({"GET", "n"}));
        const long long base = before && before->is_string() ? std::stoll(before->str) : 0;
        const auto start = Clock::now();
        for (int i = 0; i < calls; ++i)
            asio::co_spawn(io, client.command({"INCR", "n"}), [&](std::exception_ptr, Result r) {
                ++answered;
                in_order += r && r->integer == base + answered;
            });
        EXPECT_TRUE(run_until([&] { return answered == calls; }, 20s));
        EXPECT_EQ(in_order, calls) << "each call got its own answer";
        return ms_since(start);
    };
    pipelined(*plain_client);  // warm both up: the first round pays for allocations
    pipelined(*tls_client);
    const auto plain_ms = pipelined(*plain_client);
    const auto tls_ms = pipelined(*tls_client);
    std::cout << "10000 pipelined INCRs: plain " << plain_ms << " ms, TLS " << tls_ms << " ms\n";
}

TEST_F(RedisTls, ACertificateFromAnotherCaIsRefusedCountedAndLoggedOnce) {
    auto server = start_server();
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    EXPECT_GE(refused(options(server.port(), settings(pki.other_ca_cert))), 3);
    spdlog::set_default_logger(previous);
    int lines = 0;
    for (const auto& line : sink->last_formatted())
        lines += line.find("certificate verification failed") != std::string::npos;
    EXPECT_EQ(lines, 1) << "one warning for the outage, not one per retry";
}

TEST_F(RedisTls, TheServerNameMustBeOnTheCertificate) {
    auto server = start_server();
    auto wrong = settings(pki.ca_cert);
    wrong.server_name = "redis.elsewhere";
    EXPECT_GE(refused(options(server.port(), wrong)), 3);
    auto named = settings(pki.ca_cert);
    named.server_name = "fake.test";  // on the certificate; the address is not looked at
    auto client = started(options(server.port(), named));
    EXPECT_TRUE(run(client->command({"PING"})));
}

TEST_F(RedisTls, VerifyFalseAcceptsAnyCertificate) {
    auto server = start_server();
    config::RedisTls tls;
    tls.verify = false;
    auto client = started(options(server.port(), tls));
    EXPECT_TRUE(run(client->command({"PING"})));
}

TEST_F(RedisTls, AServerAskingForAClientCertificateGetsTheConfiguredOne) {
    auto server = start_server(true);
    auto without = options(server.port(), settings(pki.ca_cert));
    Client anonymous(io.get_executor(), without);
    anonymous.start();
    EXPECT_FALSE(run_until([&] { return anonymous.connected(); }, 500ms));
    anonymous.stop();

    auto with = settings(pki.ca_cert);
    with.cert_file = pki.client_cert;
    with.key_file = pki.client_key;
    with.chain = config::read_certificate_chain(pki.client_cert);
    with.key = config::read_private_key(pki.client_key);
    auto client = started(options(server.port(), with));
    EXPECT_TRUE(run(client->command({"PING"})));
}

TEST_F(RedisTls, ReconnectsOverTlsAfterARestart) {
    auto server = start_server();
    auto client = started(options(server.port(), settings(pki.ca_cert)));
    server.kill();
    ASSERT_TRUE(run_until([&] { return !client->connected(); }));
    server.restart();
    ASSERT_TRUE(run_until([&] { return client->connected(); }, 3s));
    EXPECT_TRUE(run(client->command({"PING"})));
}

}  // namespace
}  // namespace llmgw::redis
