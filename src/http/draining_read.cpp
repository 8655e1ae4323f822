// The draining read: a reactor operation of llmgw's own, started on the socket's reactor as
// Asio starts its receive, which reports a short read as having drained the socket.
#include "llmgw/http/draining_read.hpp"

#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
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
    DrainingRecv(asio_detail::socket_type socket, net::mutable_buffer buffer, ReadHandler handler)
        : reactor_op(boost::system::error_code(), &DrainingRecv::perform, &DrainingRecv::complete),
          socket_(socket),
          buffer_(buffer),
          handler_(std::move(handler)) {}

private:
    // Called by the reactor: at once when the socket may hold data, else once it is readable.
    static status perform(reactor_op* base) {
        auto* op = static_cast<DrainingRecv*>(base);
        if (!asio_detail::socket_ops::non_blocking_recv1(op->socket_, op->buffer_.data(),
                                                         op->buffer_.size(), 0,
                                                         /*is_stream=*/true, op->ec_,
                                                         op->bytes_transferred_))
            return not_done;  // nothing there: queued until the socket is readable
        const bool short_read = !op->ec_ && op->bytes_transferred_ < op->buffer_.size();
        return short_read || op->ec_ == net::error::eof ? done_and_exhausted : done;
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
};

}  // namespace

DrainingReader::DrainingReader(tcp::socket& socket)
    : socket_(socket),
      reactor_(net::use_service<asio_detail::reactor>(socket.get_executor().context())) {}

void DrainingReader::start(net::mutable_buffer buffer, ReadHandler handler) {
    auto& impl = SocketImplementation::of(socket_);
    auto op = std::make_unique<DrainingRecv>(impl.socket_, buffer, std::move(handler));
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
