// TCP_INQ on a socket: each read then says what is left behind it, which a draining read
// (draining_read.hpp) needs to tell a drained socket from one whose peer's FIN waits.
#pragma once

#include <boost/system/error_code.hpp>

namespace llmgw::http {

// Turns TCP_INQ on for `native_socket`. Sockets accepted from a listener inherit it from the
// listener: one call per listener, not per connection. An error (a kernel older than 4.18)
// leaves reads as Asio's: correct, one system call more per request.
boost::system::error_code enable_read_hints(int native_socket);

}  // namespace llmgw::http
