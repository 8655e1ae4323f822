// The watchdog behind ConnectionDeadline: request deadlines and the peer watch.
#include "llmgw/http/connection_deadline.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/bind_cancellation_slot.hpp>

namespace llmgw::http {

namespace {
constexpr auto peer_poll_interval = std::chrono::milliseconds(100);
}

// A peek at the client's connection; its completion handler may run after the request (or
// the connection) ended, so what it reaches is shared and cleared when the watch stops.
struct ConnectionDeadline::Peek {
    HangUp* hang_up = nullptr;
    net::cancellation_signal cancel;
    char byte = 0;
};

ConnectionDeadline::ConnectionDeadline(tcp::socket& socket)
    : socket_(socket), timer_(socket.get_executor()) {}

ConnectionDeadline::~ConnectionDeadline() {
    *alive_ = false;
    stop();
}

void ConnectionDeadline::arm(clock::time_point at) {
    if (at < timer_.expiry()) timer_.expires_at(at);  // wakes the watcher early
}

void ConnectionDeadline::expires_after(clock::duration d) { expires_at(clock::now() + d); }

void ConnectionDeadline::expires_at(clock::time_point at) {
    expired_ = false;
    deadline_ = at;
    arm(deadline_);
}

void ConnectionDeadline::never() {
    expired_ = false;
    deadline_ = clock::time_point::max();
}

void ConnectionDeadline::watch_peer(HangUp& hang_up, clock::duration after, bool poll) {
    hang_up_ = &hang_up;
    poll_peer_ = poll;
    peer_check_at_ = clock::now() + after;
    arm(peer_check_at_);
}

void ConnectionDeadline::stop_watching_peer() {
    hang_up_ = nullptr;
    peer_check_at_ = clock::time_point::max();
    if (peek_) {
        peek_->hang_up = nullptr;
        peek_->cancel.emit(net::cancellation_type::terminal);
        peek_.reset();
    }
}

void ConnectionDeadline::check_peer(clock::time_point now) {
    if (hang_up_ == nullptr) return;
    if (poll_peer_) {
        if (peer_closed(socket_)) hang_up_->fire();
        peer_check_at_ = hang_up_->happened() ? clock::time_point::max() : now + peer_poll_interval;
        return;
    }
    // Plain TCP: one peek waits for the client's next move. Zero bytes or an error is a
    // hang-up; bytes (a pipelined request) end the watch, as the next read will tell.
    peer_check_at_ = clock::time_point::max();
    peek_ = std::make_shared<Peek>();
    peek_->hang_up = hang_up_;
    socket_.async_receive(
        net::buffer(&peek_->byte, 1), tcp::socket::message_peek,
        net::bind_cancellation_slot(peek_->cancel.slot(), [peek = peek_](
                                                              const boost::system::error_code& ec,
                                                              std::size_t n) {
            if (ec == net::error::operation_aborted || peek->hang_up == nullptr) return;
            if (ec || n == 0) peek->hang_up->fire();
        }));
}

void ConnectionDeadline::start() {
    running_ = true;
    wait();
}

void ConnectionDeadline::stop() {
    if (!running_) return;
    running_ = false;
    stop_watching_peer();
    timer_.cancel();
}

// One wait at a time: arm() moving the expiry earlier cancels it, and its handler (woken
// with operation_aborted) waits again until the new time.
void ConnectionDeadline::wait() {
    timer_.expires_at(std::min(deadline_, peer_check_at_));
    timer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
        if (*alive) on_timer();
    });
}

void ConnectionDeadline::on_timer() {
    if (!running_) return;
    if (!socket_.is_open()) {
        stop();
        return;
    }
    const auto now = clock::now();
    if (deadline_ <= now) {
        expired_ = true;
        deadline_ = clock::time_point::max();
        boost::system::error_code ignored;
        socket_.cancel(ignored);
    }
    if (peer_check_at_ <= now) check_peer(now);
    wait();
}

bool peer_closed(tcp::socket& socket) {
    if (!socket.is_open()) return true;
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
        return true;
    // CLOSE_WAIT once the client's FIN arrived, CLOSE after a reset.
    return info.tcpi_state != TCP_ESTABLISHED;
}

}  // namespace llmgw::http
