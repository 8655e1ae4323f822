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

http::Task<std::tuple<error_code, std::size_t>> read_answer(
    UpstreamConnection& connection, net::mutable_buffer buffer,
    std::chrono::steady_clock::time_point deadline) {
    if (connection.tls) {
        connection.stream.expires_at(deadline);
        return connection.tls->async_read_some(buffer, net::as_tuple(http::use_awaitable));
    }
    connection.read_deadline.expires_at(deadline);
    return connection.reader.async_read_some(buffer, net::as_tuple(http::use_awaitable));
}

AnswerRead answer_read_result(UpstreamConnection& connection,
                              const std::tuple<error_code, std::size_t>& read) {
    auto [ec, n] = read;
    // Over plain TCP: cancelled by the deadline, not by a hang-up (which closes the socket).
    // Over TLS the stream reports its own timeout.
    if (!connection.tls && ec == net::error::operation_aborted && connection.read_deadline.expired())
        ec = timed_out(connection);
    return AnswerRead{ec, n};
}

}  // namespace llmgw::upstream
