// sendmsg(2) with MSG_DONTWAIT straight on the socket: Asio's own write would post its
// completion even when the kernel took every byte at once.
#include "llmgw/http/write_now.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace llmgw::http {

std::size_t write_now(tcp::socket& socket, const net::const_buffer* buffers, std::size_t count) {
    constexpr std::size_t max_pieces = 8;
    std::array<iovec, max_pieces> pieces{};
    std::size_t used = 0;
    for (std::size_t i = 0; i < count && used < max_pieces; ++i) {
        if (buffers[i].size() == 0) continue;
        pieces[used].iov_base = const_cast<void*>(buffers[i].data());
        pieces[used].iov_len = buffers[i].size();
        ++used;
    }
    if (used == 0) return 0;
    msghdr message{};
    message.msg_iov = pieces.data();
    message.msg_iovlen = used;
    for (;;) {
        const auto sent = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) return static_cast<std::size_t>(sent);
        if (errno != EINTR) return 0;
    }
}

}  // namespace llmgw::http
