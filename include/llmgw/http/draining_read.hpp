// A read from a plain TCP socket that remembers when it drained the socket.
//
// Asio's reactor (Boost 1.81) takes a socket for drained only when a read returns 0 bytes, so
// after any read that got data the next read is tried at once, before any readiness event.
// Between two requests of a keep-alive client that read finds nothing, every time: one system
// call per request (bench/syscalls.sh; nginx makes none). This read asks the kernel what is
// left with each read (TCP_INQ: the bytes still queued, or 1 when the peer's FIN waits behind
// them) and, when nothing is, says so to the reactor, which then queues the next read until
// the socket is readable again. Anything that arrives in the meantime is an edge the reactor
// sees (it marks the socket to be tried at once again), so no byte waits for a later one.
//
// A shorter read than asked is not enough to tell: bytes and the FIN that follows them can
// come in one readiness event, and a read queued after them would wait for an event that never
// comes. A reset that comes in the same event as the last bytes is not told by TCP_INQ: the
// read after them waits for its deadline (every reader here has one) instead of failing at
// once. A socket without TCP_INQ (see enable_read_hints) reads as Asio does.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/system/error_code.hpp>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/read_hints.hpp"

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

    // Completes once the socket holds something to read (bytes, the end of the stream or an
    // error), consuming nothing: `byte` receives a copy of the first byte. A wait for
    // readability (async_wait) asks epoll again each time it starts, one system call; this
    // starts as the reads do, without one when the last read drained the socket. It stays
    // queued ahead of a read started after it; cancel the socket to take it away.
    template <typename Token>
    auto async_peek(char& byte, Token&& token) {
        return net::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this, &byte](auto handler) {
                start(net::buffer(&byte, 1), ReadHandler(std::move(handler)), /*peek=*/true);
            },
            token);
    }

private:
    void start(net::mutable_buffer buffer, ReadHandler handler, bool peek = false);

    tcp::socket& socket_;
    net::detail::reactor& reactor_;
};

}  // namespace llmgw::http
