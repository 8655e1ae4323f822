// Reading an upstream answer over a real loopback connection made by connect_endpoint: what
// comes, the end of the stream, a deadline that passes, and a reset that came with the last
// bytes (which no readiness event reports to the read after them).
#include "llmgw/upstream/answer_read.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "support/run_until.hpp"

namespace llmgw::upstream {
namespace {

using namespace std::chrono_literals;
namespace net = http::net;
using http::tcp;
using testing::run_until;

struct Upstream {
    net::io_context io;
    net::executor_work_guard<http::Executor> busy = net::make_work_guard(io.get_executor());
    tcp::acceptor acceptor{io.get_executor(), {net::ip::make_address("127.0.0.1"), 0}};
    std::unique_ptr<UpstreamConnection> connection;
    tcp::socket server{io.get_executor()};

    Upstream() {
        config::Endpoint endpoint;
        endpoint.host = "127.0.0.1";
        endpoint.port = acceptor.local_endpoint().port();
        endpoint.url = "http://127.0.0.1:" + std::to_string(endpoint.port);
        std::optional<ConnectResult> made;
        net::co_spawn(io, connect_endpoint(io.get_executor(), endpoint, nullptr, 1000ms),
                      [&](std::exception_ptr error, ConnectResult result) {
                          if (error) std::rethrow_exception(error);
                          made = std::move(result);
                      });
        // The connect completes in the listen backlog, before the accept.
        EXPECT_TRUE(run_until(io, [&] { return made.has_value(); }));
        server = acceptor.accept();
        connection = std::move(made->connection);
    }

    void send(const std::string& bytes) { net::write(server, net::buffer(bytes)); }

    // Runs the io_context with no read pending: the reactor takes whatever event the socket has.
    void let_reactor_run() {
        http::Timer timer(io.get_executor(), 50ms);
        bool fired = false;
        timer.async_wait([&](const boost::system::error_code&) { fired = true; });
        ASSERT_TRUE(run_until(io, [&] { return fired; }));
    }

    struct Read {
        AnswerRead result;
        std::string bytes;
    };
    // One read_answer with `deadline_in` to go, run to its end and read by answer_read_result.
    std::optional<Read> read(std::chrono::milliseconds deadline_in) {
        auto storage = std::make_shared<std::string>(64, '\0');
        std::optional<Read> read;
        net::co_spawn(io,
                      read_answer(*connection, net::buffer(*storage),
                                  std::chrono::steady_clock::now() + deadline_in),
                      [&, storage](std::exception_ptr error,
                                   std::tuple<boost::system::error_code, std::size_t> raw) {
                          if (error) std::rethrow_exception(error);
                          const auto result = answer_read_result(*connection, raw);
                          read = Read{result, storage->substr(0, result.bytes)};
                      });
        EXPECT_TRUE(run_until(io, [&] { return read.has_value(); }));
        return read;
    }
};

TEST(AnswerRead, ReadsWhatTheServerSent) {
    Upstream u;
    ASSERT_NE(u.connection, nullptr);
    u.send("HTTP/1.1 200 OK\r\n");
    const auto read = u.read(1000ms);
    ASSERT_TRUE(read);
    EXPECT_FALSE(read->result.ec);
    EXPECT_EQ(read->bytes, "HTTP/1.1 200 OK\r\n");
}

TEST(AnswerRead, AFinRightAfterTheLastBytesIsTheEndOfTheStream) {
    Upstream u;
    ASSERT_NE(u.connection, nullptr);
    u.send("last");
    u.server.close();
    u.let_reactor_run();
    EXPECT_EQ(u.read(1000ms)->bytes, "last");
    const auto end = u.read(5000ms);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->result.ec, net::error::eof);
}

// A server that is only slow: the read ends at its deadline as a timeout, and the connection is
// closed (closing is what stops a model server generating).
TEST(AnswerRead, ADeadlineThatPassesIsATimeoutAndClosesTheConnection) {
    Upstream u;
    ASSERT_NE(u.connection, nullptr);
    const auto started = std::chrono::steady_clock::now();
    const auto read = u.read(150ms);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->result.ec, http::beast::error::timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 150ms);
    EXPECT_FALSE(u.connection->stream.socket().is_open());
}

// The reset arrives in the same readiness event as the last bytes: the read after them waits
// for an event that never comes, and is told at its deadline, as a reset.
TEST(AnswerRead, AResetThatCameWithTheLastBytesIsAResetAtTheDeadline) {
    Upstream u;
    ASSERT_NE(u.connection, nullptr);
    u.send("last");
    u.server.set_option(net::socket_base::linger(true, 0));
    u.server.close();
    u.let_reactor_run();
    EXPECT_EQ(u.read(1000ms)->bytes, "last");
    const auto reset = u.read(150ms);
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->result.ec, net::error::connection_reset);
}

}  // namespace
}  // namespace llmgw::upstream
