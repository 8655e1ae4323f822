// Specification of redis::Client against a Redis that misbehaves (testing::FakeRedis): every
// reply is bounded in bytes, elements and depth; every call ends within its timeout whatever
// the peer sends; a broken connection is replaced; memory stays bounded.
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string_view>

#include "llmgw/redis/client.hpp"
#include "pumped_io.hpp"
#include "support/fake_redis.hpp"

namespace llmgw::redis {
namespace {

using testing::FakeRedis;
using Shape = FakeRedis::Shape;
using Clock = std::chrono::steady_clock;
using Kind = Error::Kind;
using testing::describe;
using testing::ms_since;
using namespace std::chrono_literals;

// This process's resident set, from /proc/self/statm (pages).
std::uint64_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// The log lines written while it lives: the client says there why it replaced a connection.
class CapturedLog {
public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    bool contains(std::string_view text) const {
        for (const auto& line : sink_->last_formatted())
            if (line.find(text) != std::string::npos) return true;
        return false;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
        std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    std::shared_ptr<spdlog::logger> previous_;
};

class MisbehavingRedis : public testing::PumpedIo {
protected:
    FakeRedis fake;

    // connect_timeout is long: a connection replaced within it was replaced by a bound or by
    // the rule for a reply stalled mid-way, not by the rule for a server that answers nothing.
    Client::Options options() {
        Client::Options o;
        o.host = "127.0.0.1";
        o.port = fake.port();
        o.timeout = 100ms;
        o.connect_timeout = 3s;
        o.reconnect_min = 20ms;
        o.reconnect_max = 200ms;
        return o;
    }

    // A GET under the fake's current shape: it must fail, and within its timeout (plus a
    // generous margin for a loaded machine).
    Error failed_get(Client& client, std::chrono::milliseconds timeout) {
        const auto start = Clock::now();
        auto result = run(client.command({"GET", "k"}));
        EXPECT_LT(ms_since(start), (timeout + 250ms).count());
        EXPECT_FALSE(result) << "a misbehaving server gave " << describe(result);
        return result ? Error{Kind::server_error, "none"} : result.error();
    }

    // Once the server behaves, calls succeed again: well before connect_timeout (3 s), so the
    // connection was replaced as soon as it went bad.
    void expect_recovers(Client& client) {
        fake.set_shape(Shape::sane);
        const auto start = Clock::now();
        Result last;
        EXPECT_TRUE(run_until(
            [&] {
                last = run(client.command({"GET", "k"}));
                return last.has_value();
            },
            1s))
            << "still failing after 1 s: " << describe(last);
        if (last) {
            EXPECT_EQ(last->str, "value");
        }
        EXPECT_LT(ms_since(start), 1000);
    }
};

TEST_F(MisbehavingRedis, AnEndlessArrayFailsAtItsHeaderAndTheConnectionIsReplaced) {
    auto client = started(options());
    fake.set_shape(Shape::endless_array);
    const auto error = failed_get(*client, 100ms);
    EXPECT_EQ(error.kind, Kind::protocol) << error.message;
    EXPECT_NE(error.message.find("max_reply_elements"), std::string::npos) << error.message;
    expect_recovers(*client);
}

TEST_F(MisbehavingRedis, AHugeButFiniteArrayIsRefusedBeforeItIsRead) {
    auto o = options();
    o.timeout = 1s;  // time enough to read all 3000000 elements, were they admitted
    auto client = started(o);
    fake.set_shape(Shape::huge_finite_array);
    const auto error = failed_get(*client, 1s);
    EXPECT_EQ(error.kind, Kind::protocol) << error.message;
    EXPECT_NE(error.message.find("max_reply_elements"), std::string::npos) << error.message;
    expect_recovers(*client);
}

TEST_F(MisbehavingRedis, AHugeBulkStringFailsOnceItOutgrowsTheByteBound) {
    auto o = options();
    o.timeout = 1s;  // the byte bound ends the call, not the timeout
    o.max_reply_bytes = 1 << 20;
    auto client = started(o);
    fake.set_shape(Shape::huge_bulk);
    const auto start = Clock::now();
    const auto error = failed_get(*client, 1s);
    EXPECT_EQ(error.kind, Kind::protocol) << error.message;
    EXPECT_NE(error.message.find("max_reply_bytes"), std::string::npos) << error.message;
    EXPECT_LT(ms_since(start), 500) << "1 MiB on loopback takes milliseconds";
    expect_recovers(*client);
}

// hiredis itself refuses arrays nested deeper than 7; this pins that bound down.
TEST_F(MisbehavingRedis, DeepNestingIsAProtocolError) {
    auto client = started(options());
    fake.set_shape(Shape::deep_nesting);
    const auto error = failed_get(*client, 100ms);
    EXPECT_EQ(error.kind, Kind::protocol) << error.message;
    EXPECT_NE(error.message.find("depth"), std::string::npos) << error.message;
    expect_recovers(*client);
}

TEST_F(MisbehavingRedis, AReplyStillTricklingInAtTheTimeoutEndsTheConnection) {
    auto client = started(options());
    fake.set_shape(Shape::trickle);
    const auto error = failed_get(*client, 100ms);
    EXPECT_EQ(error.kind, Kind::timeout) << error.message;
    EXPECT_FALSE(client->connected()) << "every later call would wait behind that reply";
    expect_recovers(*client);
}

// hiredis 0.14 asserts, aborting the process, on a reply that comes while no command waits for
// one (a server that answers twice). The client refuses that reply and replaces the connection.
TEST_F(MisbehavingRedis, AReplyNobodyAskedForEndsTheConnectionNotTheProcess) {
    CapturedLog log;
    auto client = started(options());
    const auto accepted = fake.accepted();
    fake.set_shape(Shape::twice);
    auto answered = run(client->command({"GET", "k"}));
    ASSERT_TRUE(answered) << describe(answered);
    EXPECT_EQ(answered->str, "value");  // its own answer: the copy behind it is the surplus
    EXPECT_TRUE(run_until([&] { return fake.accepted() > accepted; }, 2s)) << "never replaced";
    EXPECT_TRUE(log.contains("a reply nobody asked for")) << "the log says why";
    expect_recovers(*client);
}

// A server that speaks first would shift every answer by one, each call getting the answer of
// the one before. The handshake's PING carries a token, and a connection whose PING is answered
// by anything else is never used (here the stray reply even looks like an answer to PING).
TEST_F(MisbehavingRedis, AReplyBeforeAnyCommandNeverAnswersACall) {
    CapturedLog log;
    fake.set_greeting("+PONG\r\n");
    Client client(io.get_executor(), options());
    client.start();
    bool ever_connected = false;
    EXPECT_TRUE(run_until([&] {
        ever_connected = ever_connected || client.connected();
        return fake.accepted() >= 3;
    })) << "the client gave up reconnecting";
    EXPECT_FALSE(ever_connected);
    auto refused = run(client.command({"GET", "k"}));
    ASSERT_FALSE(refused) << describe(refused);
    EXPECT_EQ(refused.error().kind, Kind::not_connected);
    EXPECT_TRUE(log.contains("PING answered without its token")) << "the log says why";

    fake.set_greeting("");
    EXPECT_TRUE(run_until([&] { return client.connected(); }, 1s));
    expect_recovers(client);
}

TEST_F(MisbehavingRedis, MemoryStaysBoundedWhileTheServerSendsEndlessReplies) {
    auto client = started(options());
    const auto rss_before = rss_bytes();
    std::uint64_t rss_peak = rss_before;  // sampled after every call: memory freed later counts
    const auto sent_before = fake.bytes_sent();
    for (const auto shape : {Shape::huge_bulk, Shape::endless_array}) {
        fake.set_shape(shape);
        const auto until = Clock::now() + 1500ms;
        while (Clock::now() < until) {
            const auto start = Clock::now();
            run(client->command({"GET", "k"}));
            EXPECT_LT(ms_since(start), 350) << "the timeout holds for every call";
            rss_peak = std::max(rss_peak, rss_bytes());
            run_until([&] { return client->connected(); }, 300ms);
        }
    }
    const auto grown = static_cast<long long>(rss_peak) - static_cast<long long>(rss_before);
    const auto sent = fake.bytes_sent() - sent_before;
#if !defined(__SANITIZE_ADDRESS__)
    // Under AddressSanitizer freed memory stays in its quarantine (256 MiB by default) and
    // counts as growth; the integration test checks the bound there with a small quarantine.
    EXPECT_LT(grown, 64ll << 20) << "the server sent " << (sent >> 20) << " MiB";
#endif
    std::cout << "RSS grew by " << (grown >> 20) << " MiB while the server sent " << (sent >> 20)
              << " MiB\n";
}

}  // namespace
}  // namespace llmgw::redis
