// The draining read on a real loopback connection: it reads what socket.async_read_some
// reads, and a read queued after a short one still gets every byte, whether the bytes come
// while it waits or came before it started.
#include "llmgw/http/draining_read.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>

#include "support/run_until.hpp"

namespace llmgw::http {
namespace {

using testing::run_until;

struct Connection {
    net::io_context io;
    // Keeps run_until's io_context from stopping each time it runs out of work.
    net::executor_work_guard<Executor> busy = net::make_work_guard(io.get_executor());
    tcp::socket reader{io.get_executor()};
    tcp::socket writer{io.get_executor()};
    DrainingReader draining{reader};

    // `read_hints`: TCP_INQ on the listener, as llmgw's listeners have it.
    explicit Connection(bool read_hints = true) {
        tcp::acceptor acceptor(io.get_executor(), {net::ip::make_address("127.0.0.1"), 0});
        if (read_hints) {
            EXPECT_FALSE(enable_read_hints(acceptor.native_handle()));
        }
        writer.connect(acceptor.local_endpoint());
        reader = acceptor.accept();
        int on = 0;
        socklen_t size = sizeof on;
        EXPECT_EQ(::getsockopt(reader.native_handle(), SOL_TCP, TCP_INQ, &on, &size), 0);
        EXPECT_EQ(on, read_hints ? 1 : 0) << "the accepted socket's TCP_INQ is not its listener's";
    }

    void send(const std::string& bytes) { net::write(writer, net::buffer(bytes)); }
};

struct Read {
    std::optional<boost::system::error_code> ec;
    std::string bytes;
};

// Starts a draining read of at most `size` bytes; the result lands in the returned Read.
std::shared_ptr<Read> start_read(Connection& c, std::size_t size) {
    auto read = std::make_shared<Read>();
    auto storage = std::make_shared<std::string>(size, '\0');
    c.draining.async_read_some(net::buffer(*storage),
                               [read, storage](boost::system::error_code ec, std::size_t n) {
                                   read->bytes = storage->substr(0, n);
                                   read->ec = ec;
                               });
    return read;
}

std::shared_ptr<Read> read_now(Connection& c, std::size_t size) {
    auto read = start_read(c, size);
    EXPECT_TRUE(run_until(c.io, [&] { return read->ec.has_value(); }));
    return read;
}

// Runs the io_context for a while with nothing of the socket's pending: the reactor sees
// whatever event the socket has and nobody reads.
void let_reactor_run(Connection& c) {
    Timer timer(c.io.get_executor(), std::chrono::milliseconds(50));
    bool fired = false;
    timer.async_wait([&](const boost::system::error_code&) { fired = true; });
    ASSERT_TRUE(run_until(c.io, [&] { return fired; }));
}

// Leaves the socket drained by a short read.
void read_short(Connection& c) {
    c.send("first");
    EXPECT_EQ(read_now(c, 64)->bytes, "first");
}

TEST(DrainingRead, ReadsWhatIsThere) {
    Connection c;
    c.send("hello");
    const auto read = read_now(c, 64);
    EXPECT_FALSE(*read->ec);
    EXPECT_EQ(read->bytes, "hello");
}

TEST(DrainingRead, AfterAShortReadWaitsAndGetsWhatComesNext) {
    Connection c;
    read_short(c);
    const auto next = start_read(c, 64);
    let_reactor_run(c);
    EXPECT_FALSE(next->ec.has_value()) << "completed with nothing sent";
    c.send("second");
    ASSERT_TRUE(run_until(c.io, [&] { return next->ec.has_value(); }));
    EXPECT_FALSE(*next->ec);
    EXPECT_EQ(next->bytes, "second");
}

// The bytes arrive after a short read and before the next read starts, and the reactor has
// seen their event already: the next read must still get them, with nothing more sent.
TEST(DrainingRead, BytesThatCameBetweenReadsAreReadWithoutAnotherEvent) {
    Connection c;
    read_short(c);
    c.send("between");
    let_reactor_run(c);
    const auto next = read_now(c, 64);
    EXPECT_FALSE(*next->ec);
    EXPECT_EQ(next->bytes, "between");
}

// The reactor has seen the bytes' event before the first read: no event is left to wake a
// second read that waited, so a read that filled its buffer must leave the next one to try.
TEST(DrainingRead, AFullReadIsFollowedByTheRest) {
    Connection c;
    c.send("0123456789abcdef");
    let_reactor_run(c);
    EXPECT_EQ(read_now(c, 10)->bytes, "0123456789");
    EXPECT_EQ(read_now(c, 10)->bytes, "abcdef");
}

TEST(DrainingRead, TheEndOfTheStreamIsEof) {
    Connection c;
    read_short(c);
    c.writer.close();
    const auto end = read_now(c, 64);
    EXPECT_EQ(*end->ec, net::error::eof);
    EXPECT_TRUE(end->bytes.empty());
}

// The last bytes and the peer's FIN come in one readiness event: the read that gets the bytes
// must not take the socket for drained, or the read after it would wait for an event that
// never comes.
TEST(DrainingRead, TheEndOfTheStreamRightAfterTheLastBytesIsSeen) {
    Connection c;
    read_short(c);
    c.send("last");
    c.writer.close();
    let_reactor_run(c);
    EXPECT_EQ(read_now(c, 64)->bytes, "last");
    const auto end = read_now(c, 64);
    ASSERT_TRUE(end->ec.has_value());
    EXPECT_EQ(*end->ec, net::error::eof);
}

// Without TCP_INQ a read cannot tell that it drained the socket: every read is followed by a
// try, as Asio's are, and nothing is lost.
TEST(DrainingRead, WithoutReadHintsNothingIsLost) {
    Connection c(/*read_hints=*/false);
    c.send("bytes");
    c.writer.close();
    let_reactor_run(c);  // the bytes' and the FIN's event taken, with no read to wake
    EXPECT_EQ(read_now(c, 64)->bytes, "bytes");
    const auto end = read_now(c, 64);
    ASSERT_TRUE(end->ec.has_value());
    EXPECT_EQ(*end->ec, net::error::eof);
}

TEST(DrainingRead, CancellingTheSocketAbortsAWaitingRead) {
    Connection c;
    const auto read = start_read(c, 64);
    let_reactor_run(c);
    c.reader.cancel();
    ASSERT_TRUE(run_until(c.io, [&] { return read->ec.has_value(); }));
    EXPECT_EQ(*read->ec, net::error::operation_aborted);
}

TEST(DrainingRead, ClosingTheSocketAbortsAWaitingRead) {
    Connection c;
    const auto read = start_read(c, 64);
    c.reader.close();
    ASSERT_TRUE(run_until(c.io, [&] { return read->ec.has_value(); }));
    EXPECT_EQ(*read->ec, net::error::operation_aborted);
}

struct Peek {
    std::optional<boost::system::error_code> ec;
    std::size_t n = 0;
    char byte = 0;
};

std::shared_ptr<Peek> start_peek(Connection& c) {
    auto peek = std::make_shared<Peek>();
    c.draining.async_peek(peek->byte, [peek](boost::system::error_code ec, std::size_t n) {
        peek->n = n;
        peek->ec = ec;
    });
    return peek;
}

// After a short read the peek waits; bytes wake it and are left for the read.
TEST(DrainingRead, APeekWaitsForBytesAndLeavesThem) {
    Connection c;
    read_short(c);
    const auto peek = start_peek(c);
    let_reactor_run(c);
    EXPECT_FALSE(peek->ec.has_value()) << "completed with nothing sent";
    c.send("next");
    ASSERT_TRUE(run_until(c.io, [&] { return peek->ec.has_value(); }));
    EXPECT_FALSE(*peek->ec);
    EXPECT_EQ(peek->n, 1u);
    EXPECT_EQ(peek->byte, 'n');
    EXPECT_EQ(read_now(c, 64)->bytes, "next");
}

// A read started behind a pending peek is woken by the same bytes, and the next read after a
// peek that saw bytes still gets the rest without another event.
TEST(DrainingRead, AReadQueuedBehindAPeekGetsTheBytes) {
    Connection c;
    read_short(c);
    const auto peek = start_peek(c);
    const auto read = start_read(c, 4);
    c.send("answer");
    ASSERT_TRUE(run_until(c.io, [&] { return peek->ec.has_value() && read->ec.has_value(); }));
    EXPECT_EQ(peek->byte, 'a');
    EXPECT_EQ(read->bytes, "answ");
    EXPECT_EQ(read_now(c, 64)->bytes, "er");
}

TEST(DrainingRead, APeekSeesTheEndOfTheStream) {
    Connection c;
    read_short(c);
    const auto peek = start_peek(c);
    c.writer.close();
    ASSERT_TRUE(run_until(c.io, [&] { return peek->ec.has_value(); }));
    EXPECT_EQ(*peek->ec, net::error::eof);
}

TEST(DrainingRead, CancellingTheSocketAbortsAPeek) {
    Connection c;
    read_short(c);
    const auto peek = start_peek(c);
    let_reactor_run(c);
    c.reader.cancel();
    ASSERT_TRUE(run_until(c.io, [&] { return peek->ec.has_value(); }));
    EXPECT_EQ(*peek->ec, net::error::operation_aborted);
    c.send("later");
    EXPECT_EQ(read_now(c, 64)->bytes, "later");
}

// A read still waiting when its io_context goes is freed without being called (under ASan, a
// leak or a call into freed memory fails the test).
TEST(DrainingRead, AReadPendingWhenTheIoContextGoesIsDropped) {
    std::shared_ptr<Read> read;
    {
        Connection c;
        read = start_read(c, 64);
        let_reactor_run(c);
    }
    EXPECT_FALSE(read->ec.has_value());
}

}  // namespace
}  // namespace llmgw::http
