// Short names for the Asio/Beast types llmgw's networking code uses.
// Include only from networking sources: Beast is heavy to compile.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace boost::asio::ssl {
template <typename Stream>
class stream;
class context;
}  // namespace boost::asio::ssl

namespace llmgw::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
// A client connection with TLS terminated on it (declared only: include
// <boost/asio/ssl/stream.hpp> where it is used).
using TlsSocket = net::ssl::stream<tcp::socket>;
using Request = beast::http::request<beast::http::string_body>;
using ResponseHead = beast::http::response_header<>;
template <typename T>
using Task = net::awaitable<T>;

}  // namespace llmgw::http
