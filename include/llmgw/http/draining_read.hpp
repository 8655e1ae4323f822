// A read from a plain TCP socket that remembers when it drained the socket.
//
// Asio's reactor (Boost 1.81) takes a socket for drained only when a read returns 0 bytes, so
// after any read that got data the next read is tried at once, before any readiness event.
// Between two requests of a keep-alive client that read finds nothing, every time: one system
// call per request (bench/syscalls.sh; nginx makes none). A read that gets fewer bytes than it
// asked for has emptied the socket's receive queue: this one says so to the reactor, which
// then queues the next read until the socket is readable again. Anything that arrives in the
// meantime is an edge the reactor sees (it marks the socket to be tried at once again), so no
// byte waits for a later one.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/system/error_code.hpp>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

using ReadHandler = net::any_completion_handler<void(boost::system::error_code, std::size_t)>;

// Reads one socket. The socket's reactor is looked up once, here: a lookup takes the
// io_context's service registry lock (about 200 instructions a read).
class DrainingReader {
public:
    explicit DrainingReader(tcp::socket& socket);

    // What socket.async_read_some would give (eof at the end of the stream, operation_aborted
    // when the socket is cancelled or closed). Not for an empty buffer. Per-operation
    // cancellation is not supported: cancel or close the socket.
    template <typename Token>
    auto async_read_some(net::mutable_buffer buffer, Token&& token) {
        return net::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this, buffer](auto handler) { start(buffer, ReadHandler(std::move(handler))); },
            token);
    }

private:
    void start(net::mutable_buffer buffer, ReadHandler handler);

    tcp::socket& socket_;
    net::detail::reactor& reactor_;
};

}  // namespace llmgw::http
