// One attempt: acquire, write, read the head; a pooled connection found dead is replaced once,
// but only under the rule of may_resend().
#include "attempt.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include "llmgw/http/hop_by_hop.hpp"
#include "llmgw/http/write_now.hpp"
#include "llmgw/upstream/answer_read.hpp"
#include "llmgw/upstream/retry_decision.hpp"
#include "llmgw/upstream/upstream_request.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;

namespace {

using boost::system::error_code;

// What one read for an answer's head takes at most.
constexpr std::size_t kMaxHeadRead = 64 * 1024;

bool is_timeout(const boost::system::error_code& ec) {
    return ec == beast::error::timeout || ec == net::error::timed_out;
}

// The server closed or broke the connection before it answered anything.
bool is_closed(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::ssl::error::stream_truncated;  // TLS: closed without close_notify
}

Failure connect_failure(ConnectFailure failure) {
    switch (failure) {
        case ConnectFailure::timeout: return Failure::connect_timeout;
        case ConnectFailure::tls: return Failure::tls;
        case ConnectFailure::none: return Failure::none;
        default: return Failure::connect;
    }
}

struct Exchange {
    boost::system::error_code ec;
    std::size_t written = 0;
};

// A chunked body (never on the proxy path: prepare_payload gives a length) goes through
// Beast's serializer, with the lines among a copy's fields: a retry sends the request again.
http::Task<Exchange> write_chunked_request(UpstreamConnection& connection, http::Request& request,
                                           std::string_view lines, const config::Endpoint& endpoint) {
    http::Request whole = request;
    whole.set(bhttp::field::host, host_header(endpoint));
    whole.keep_alive(true);
    insert_lines(whole, lines);
    auto [ec, n] = co_await on_stream(connection, [&](auto& s) {
        return bhttp::async_write(s, whole, net::as_tuple(http::use_awaitable));
    });
    co_return Exchange{ec, n};
}

// Writes the request and reads the answer's head, both within the first-byte deadline. The
// head is written by hand into the connection's own buffer and sent with the body in one
// gather write (Beast's serializer cost more than the rest of the write); over plain TCP what
// the socket takes at once goes without a trip through the event loop, nor a coroutine of its
// own.
http::Task<Exchange> write_and_read_head(UpstreamConnection& connection, http::Request& request,
                                         std::string_view lines, const config::Endpoint& endpoint,
                                         AnswerParser& parser, Clock::time_point deadline) {
    connection.stream.expires_at(deadline);
    Exchange exchange;
    if (request.chunked()) {
        exchange = co_await write_chunked_request(connection, request, lines, endpoint);
    } else {
        write_head(request, lines, connection.head, &endpoint);
        std::array<net::const_buffer, 2> buffers{net::buffer(connection.head),
                                                 net::buffer(request.body())};
        exchange.written = connection.tls ? 0 : http::write_now(connection.stream.socket(), buffers);
        if (exchange.written != net::buffer_size(buffers)) {
            http::drop_written(buffers, exchange.written);
            auto [ec, n] = co_await on_stream(connection, [&](auto& s) {
                return net::async_write(s, buffers, net::as_tuple(http::use_awaitable));
            });
            exchange.ec = ec;
            exchange.written += n;
        }
    }
    if (exchange.ec) co_return exchange;
    if (request.method() == bhttp::verb::head) parser.skip_body();
    // Read until the head is whole in the buffer; body bytes that came with it stay there.
    auto& buffer = connection.buffer;
    for (;;) {
        const std::string_view buffered(static_cast<const char*>(buffer.data().data()), buffer.size());
        const auto used = parser.put_head(buffered, exchange.ec);
        buffer.consume(used);
        if (exchange.ec != bhttp::error::need_more) break;
        const auto size = beast::read_size(buffer, kMaxHeadRead);
        if (size == 0) {
            exchange.ec = bhttp::error::header_limit;
            break;
        }
        const auto raw = co_await read_answer(connection, buffer.prepare(size), deadline);
        const auto [read_ec, n] = answer_read_result(connection, raw);
        buffer.commit(n);
        // As Beast's read: a close before any byte of the answer is the end of the stream.
        exchange.ec = read_ec != net::error::eof ? read_ec
                      : buffer.size() == 0       ? error_code(bhttp::error::end_of_stream)
                                                 : error_code(bhttp::error::partial_message);
        if (exchange.ec) break;
    }
    co_return exchange;
}

Failure exchange_failure(const boost::system::error_code& ec, const AttemptLimits& limits) {
    if (is_timeout(ec))
        return Clock::now() >= limits.total_deadline ? Failure::total_timeout
                                                     : Failure::first_byte_timeout;
    return is_closed(ec) ? Failure::reset : Failure::invalid;
}

// Closing the upstream connection is what tells the model server to stop generating.
void close_on_hang_up(http::HangUp& hang_up, UpstreamConnection& connection) {
    hang_up.slot().assign([&connection](net::cancellation_type) {
        boost::system::error_code ignored;
        connection.stream.socket().shutdown(http::tcp::socket::shutdown_both, ignored);
        connection.stream.socket().close(ignored);
    });
}

}  // namespace

Clock::duration AttemptLimits::remaining(Clock::duration limit, Clock::time_point now) const {
    return std::max<Clock::duration>(std::min(limit, total_deadline - now),
                                     Clock::duration::zero());
}

http::Task<void> attempt_head(ConnectionPool& pool, http::Request& request,
                              std::string_view head_lines, const config::Endpoint& endpoint, tls::ClientContext* tls,
                              const AttemptLimits& limits, http::HangUp& hang_up,
                              AttemptHead& result) {
    const auto started = Clock::now();
    result.started = started;
    for (bool fresh = false;; fresh = true) {
        // One clock read per attempt when a pooled connection is taken (no wait in between).
        auto now = fresh ? Clock::now() : started;
        ConnectionPool::Acquired acquired;
        if (!fresh) acquired.connection = pool.take_idle(endpoint, tls, now);
        if (!acquired.connection) {
            const auto connect_timeout = std::chrono::ceil<std::chrono::milliseconds>(
                limits.remaining(limits.timeouts.connect, now));
            acquired = co_await pool.connect(endpoint, tls, connect_timeout);
            now = Clock::now();
        }
        if (hang_up.happened()) {
            result.failure = Failure::client_gone;
            co_return;
        }
        result.failure = connect_failure(acquired.failure);
        if (result.failure != Failure::none) co_return;
        result.connection = std::move(acquired.connection);
        result.parser.emplace();
        close_on_hang_up(hang_up, *result.connection);
        const auto exchange = co_await write_and_read_head(
            *result.connection, request, head_lines, endpoint, *result.parser,
            now + limits.remaining(limits.timeouts.first_byte, now));
        hang_up.slot().clear();
        if (hang_up.happened()) {
            result.failure = Failure::client_gone;
            co_return;
        }
        if (!exchange.ec) break;
        // A kept-alive connection the server had closed: the request goes again on a fresh
        // one, by itself, only when it cannot run twice (see may_resend).
        if (result.connection->reused && !fresh && is_closed(exchange.ec) &&
            may_resend(request.method_string(), request.find("idempotency-key") != request.end(),
                       exchange.written)) {
            result.resent = true;
            continue;
        }
        result.failure = exchange_failure(exchange.ec, limits);
        co_return;
    }
    result.head_read = Clock::now();
    result.first_byte = result.head_read - started;
    const auto status = result.parser->status();
    if (status < 200 || status > 599) result.failure = Failure::invalid;
}

}  // namespace llmgw::upstream
