// Short names for the Asio/Beast types llmgw's networking code uses.
// Include only from networking sources: Beast is heavy to compile.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace boost::asio::ssl {
template <typename Stream>
class stream;
class context;
}  // namespace boost::asio::ssl

namespace boost::beast {
template <class Protocol, class Executor, class RatePolicy>
class basic_stream;
class unlimited_rate_policy;
}  // namespace boost::beast

namespace llmgw::http {

namespace net = boost::asio;
namespace beast = boost::beast;
// The one executor type of llmgw's coroutines, sockets and timers: a worker's io_context,
// named concretely. Asio's default, any_io_executor, is type-erased: each async operation
// copies, moves and queries it through function pointers (about 3,700 instructions per proxied
// request).
using Executor = net::io_context::executor_type;
// TCP with sockets, acceptors and resolvers on that executor.
struct tcp : net::ip::tcp {
    using socket = net::basic_stream_socket<net::ip::tcp, Executor>;
    using acceptor = net::basic_socket_acceptor<net::ip::tcp, Executor>;
    using resolver = net::ip::basic_resolver<net::ip::tcp, Executor>;
};
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
// Beast's tcp_stream (a socket with timeouts) on that executor.
using TcpStream = beast::basic_stream<net::ip::tcp, Executor, beast::unlimited_rate_policy>;
// A client connection with TLS terminated on it (declared only: include
// <boost/asio/ssl/stream.hpp> where it is used).
using TlsSocket = net::ssl::stream<tcp::socket>;
using Request = beast::http::request<beast::http::string_body>;
using ResponseHead = beast::http::response_header<>;
template <typename T>
using Task = net::awaitable<T, Executor>;
// The completion token for awaiting an operation in a Task.
inline constexpr net::use_awaitable_t<Executor> use_awaitable{};

}  // namespace llmgw::http
