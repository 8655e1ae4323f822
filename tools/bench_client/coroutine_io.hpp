// What the two modes' coroutines share: the Asio and Beast names they use, and the completion
// token that returns an error code instead of throwing.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <chrono>

#include "bench_client.hpp"

namespace bench_client {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace bench_client
