// A write that does not wait: what the kernel takes at once, without going through the event
// loop. An asynchronous write that the kernel takes at once still posts its completion, so the
// request waits behind every handler queued meanwhile and pays for a suspension and a resume;
// most writes of a proxy fit the socket's buffer and need neither.
#pragma once

#include <array>
#include <cstddef>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

// Hands `buffers` to the kernel without blocking (MSG_DONTWAIT, MSG_NOSIGNAL) and returns how
// many bytes it took: all, some, or none when the buffer is full. An error also gives 0: the
// asynchronous write that finishes the job meets it again and reports it.
std::size_t write_now(tcp::socket& socket, const net::const_buffer* buffers, std::size_t count);

template <std::size_t N>
std::size_t write_now(tcp::socket& socket, const std::array<net::const_buffer, N>& buffers) {
    return write_now(socket, buffers.data(), N);
}

// Drops the first `bytes` bytes from `buffers` (what write_now took), leaving the rest to write.
template <std::size_t N>
void drop_written(std::array<net::const_buffer, N>& buffers, std::size_t bytes) {
    for (auto& buffer : buffers) {
        const auto n = std::min(bytes, buffer.size());
        buffer += n;
        bytes -= n;
    }
}

}  // namespace llmgw::http
