// The draining read: a reactor operation of llmgw's own, started on the socket's reactor as
// Asio starts its receive, which reports a read after which the kernel says nothing is left
// (TCP_INQ) as having drained the socket. A peek never drains it: what it saw is still there.
#include "llmgw/http/draining_read.hpp"

#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace llmgw::http {

namespace {

namespace asio_detail = net::detail;

// The socket's implementation (its descriptor, state and reactor data) is a protected member
// of basic_socket; a pointer to it formed in a derived class reaches it without a cast.
struct SocketImplementation : tcp::socket {
    static auto& of(tcp::socket& socket) {
        return (socket.*(&SocketImplementation::impl_)).get_implementation();
    }
};

class DrainingRecv : public asio_detail::reactor_op {
public:
    DrainingRecv(asio_detail::socket_type socket, net::mutable_buffer buffer, ReadHandler handler,
                 bool peek)
        : reactor_op(boost::system::error_code(), &DrainingRecv::perform, &DrainingRecv::complete),
          socket_(socket),
          buffer_(buffer),
          handler_(std::move(handler)),
          flags_(peek ? MSG_PEEK : 0) {}

private:
    // Called by the reactor: at once when the socket may hold data, else once it is readable.
    static status perform(reactor_op* base) {
        auto* op = static_cast<DrainingRecv*>(base);
        if (op->flags_ != 0) {  // a peek: what it saw is still there
            return asio_detail::socket_ops::non_blocking_recv1(
                       op->socket_, op->buffer_.data(), op->buffer_.size(), op->flags_,
                       /*is_stream=*/true, op->ec_, op->bytes_transferred_)
                       ? done
                       : not_done;
        }
        int left = -1;  // what the kernel says is left after this read, when it says
        for (;;) {
            const auto n = receive(op->socket_, op->buffer_, left);
            if (n > 0) {
                op->ec_ = {};
                op->bytes_transferred_ = static_cast<std::size_t>(n);
                // Nothing left and no FIN behind these bytes: only a new event brings more.
                return left == 0 ? done_and_exhausted : done;
            }
            if (n == 0) {
                op->ec_ = net::error::eof;
                op->bytes_transferred_ = 0;
                return done_and_exhausted;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
            op->ec_ = boost::system::error_code(errno, boost::system::system_category());
            op->bytes_transferred_ = 0;
            return done;
        }
    }

    // One recvmsg into `buffer`; `left` gets the TCP_INQ hint when the socket gives it.
    static ssize_t receive(asio_detail::socket_type socket, net::mutable_buffer buffer, int& left) {
        iovec piece{buffer.data(), buffer.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr message{};
        message.msg_iov = &piece;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        const auto n = ::recvmsg(socket, &message, 0);
        if (n <= 0) return n;
        for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c))
            if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ)
                std::memcpy(&left, CMSG_DATA(c), sizeof left);
        return n;
    }

    // Called by the io_context: with `owner` to complete, without it (the io_context is being
    // destroyed with the read pending) only to free the operation.
    static void complete(void* owner, asio_detail::scheduler_operation* base,
                         const boost::system::error_code&, std::size_t) {
        std::unique_ptr<DrainingRecv> op(static_cast<DrainingRecv*>(base));
        if (owner == nullptr) return;
        auto handler = std::move(op->handler_);
        const auto ec = op->ec_;
        const auto n = op->bytes_transferred_;
        op.reset();
        std::move(handler)(ec, n);
    }

    asio_detail::socket_type socket_;
    net::mutable_buffer buffer_;
    ReadHandler handler_;
    int flags_;
};

}  // namespace

boost::system::error_code enable_read_hints(int native_socket) {
    const int on = 1;
    if (::setsockopt(native_socket, SOL_TCP, TCP_INQ, &on, sizeof on) == 0) return {};
    return {errno, boost::system::system_category()};
}

DrainingReader::DrainingReader(tcp::socket& socket)
    : socket_(socket),
      reactor_(net::use_service<asio_detail::reactor>(socket.get_executor().context())) {}

void DrainingReader::start(net::mutable_buffer buffer, ReadHandler handler, bool peek) {
    auto& impl = SocketImplementation::of(socket_);
    auto op = std::make_unique<DrainingRecv>(impl.socket_, buffer, std::move(handler), peek);
    // As Asio's own receive: the descriptor is made non-blocking first; an error doing so (or
    // a closed socket) completes the read with it.
    if ((impl.state_ & asio_detail::socket_ops::non_blocking) != 0 ||
        asio_detail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true,
                                                           op->ec_)) {
        reactor_.start_op(asio_detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                          op.release(), /*is_continuation=*/false, /*allow_speculative=*/true);
        return;
    }
    reactor_.post_immediate_completion(op.release(), false);
}

}  // namespace llmgw::http
