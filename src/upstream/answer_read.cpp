// Reading an upstream answer: draining reads under a lazy deadline over plain TCP, the TLS
// stream's reads under Beast's timeouts over TLS.
#include "llmgw/upstream/answer_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
using boost::system::error_code;

namespace {

// A read its deadline cancelled. A reset that came in the same readiness event as the answer's
// last bytes wakes no read (draining_read.hpp): the connection's state tells it from a server
// that is only slow. Either way the connection is closed, as Beast's stream closes it on a
// timeout: closing is what tells the model server to stop generating.
boost::system::error_code timed_out(UpstreamConnection& connection) {
    auto& socket = connection.stream.socket();
    const auto ec = http::peer_closed(socket) ? error_code(net::error::connection_reset)
                                               : error_code(beast::error::timeout);
    boost::system::error_code ignored;
    socket.shutdown(http::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    return ec;
}

}  // namespace

http::Task<AnswerRead> read_answer(UpstreamConnection& connection, net::mutable_buffer buffer,
                                   std::chrono::steady_clock::time_point deadline) {
    if (connection.tls) {
        connection.stream.expires_at(deadline);
        auto [ec, n] = co_await connection.tls->async_read_some(buffer,
                                                                 net::as_tuple(http::use_awaitable));
        co_return AnswerRead{ec, n};
    }
    connection.read_deadline.expires_at(deadline);
    auto [ec, n] = co_await connection.reader.async_read_some(buffer,
                                                              net::as_tuple(http::use_awaitable));
    // Cancelled by the deadline, not by a hang-up (which closes the socket).
    if (ec == net::error::operation_aborted && connection.read_deadline.expired())
        ec = timed_out(connection);
    co_return AnswerRead{ec, n};
}

}  // namespace llmgw::upstream
