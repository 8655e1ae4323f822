// The misbehaving Redis: blocking POSIX sockets, one thread per connection, and timeouts on
// every socket so that each loop notices `stopping_` within 50 ms.
#include "support/fake_redis.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace llmgw::testing {
namespace {

void set_io_timeouts(int fd) {
    timeval tv{0, 50'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// One RESP command (an array of bulk strings) from the front of `buffer`, consumed; nullopt
// while it is incomplete. Clients send nothing else.
std::optional<std::vector<std::string>> take_command(std::string& buffer) {
    std::size_t pos = 0;
    auto line = [&]() -> std::optional<long> {
        const auto end = buffer.find("\r\n", pos);
        if (end == std::string::npos) return std::nullopt;
        const long value = std::strtol(buffer.c_str() + pos + 1, nullptr, 10);
        pos = end + 2;
        return value;
    };
    if (buffer.empty() || buffer[0] != '*') return std::nullopt;
    const auto count = line();
    if (!count) return std::nullopt;
    std::vector<std::string> args;
    for (long i = 0; i < *count; ++i) {
        const auto length = line();
        if (!length || buffer.size() < pos + *length + 2) return std::nullopt;
        args.emplace_back(buffer, pos, *length);
        pos += *length + 2;
    }
    buffer.erase(0, pos);
    return args;
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string repeated(std::string_view unit, std::size_t at_least) {
    std::string out;
    out.reserve(at_least + unit.size());
    while (out.size() < at_least) out += unit;
    return out;
}

}  // namespace

FakeRedis::FakeRedis(Shape shape) : shape_(shape) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("FakeRedis: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(listener_);
        throw std::runtime_error(std::string("FakeRedis: ") + std::strerror(errno));
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

FakeRedis::~FakeRedis() {
    stopping_ = true;
    acceptor_.join();
    ::close(listener_);
    // The acceptor is gone: nobody adds to the vectors any more.
    for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    for (auto& thread : threads_) thread.join();
    for (const int fd : connections_) ::close(fd);
}

void FakeRedis::accept_loop() {
    while (!stopping_) {
        pollfd pfd{listener_, POLLIN, 0};
        if (::poll(&pfd, 1, 50) <= 0) continue;
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        set_io_timeouts(fd);
        std::lock_guard lock(mutex_);
        connections_.push_back(fd);
        ++accepted_;
        threads_.emplace_back([this, fd, greeting = greeting_] {
            if (send_all(fd, greeting)) serve(fd);
        });
    }
}

void FakeRedis::serve(int fd) {
    std::string buffer;
    char chunk[16 * 1024];
    while (!stopping_) {
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
        while (auto command = take_command(buffer))
            if (command->empty() || !answer(fd, *command)) return;
    }
}

// False when the connection is done with (closed, or an endless answer ended).
bool FakeRedis::answer(int fd, const std::vector<std::string>& command) {
    const auto name = upper(command[0]);
    if (name == "AUTH" || name == "SELECT") return send_all(fd, "+OK\r\n");
    if (name == "PING") {  // PING with a message echoes it, as a bulk string
        if (command.size() < 2) return send_all(fd, "+PONG\r\n");
        return send_all(fd, "$" + std::to_string(command[1].size()) + "\r\n" + command[1] + "\r\n");
    }
    if (name == "HELLO") return send_all(fd, "-ERR unknown command 'HELLO'\r\n");
    if (name == "SCRIPT") return send_all(fd, "$40\r\n" + std::string(40, '0') + "\r\n");
    const std::string sane = name == "GET" ? "$5\r\nvalue\r\n" : "+OK\r\n";
    switch (shape_.load()) {
        case Shape::sane:
            return send_all(fd, sane);
        case Shape::twice:
            return send_all(fd, sane + sane);
        case Shape::endless_array:
            return send_forever(fd, "*2000000000\r\n",
                                "$1024\r\n" + std::string(1024, 'x') + "\r\n");
        case Shape::huge_bulk:
            return send_forever(fd, "$2000000000\r\n", std::string(64 * 1024, 'x'));
        case Shape::deep_nesting:
            return send_forever(fd, "", "*1\r\n");
        case Shape::trickle:
            return trickle_forever(fd);
        case Shape::huge_finite_array:
            return send_all(fd, "*3000000\r\n" + repeated(":1\r\n", 3'000'000 * 4));
    }
    return false;
}

bool FakeRedis::send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        if (stopping_) return false;
        const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return false;
        bytes_sent_ += static_cast<std::uint64_t>(n);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool FakeRedis::send_forever(int fd, std::string_view head, std::string_view unit) {
    if (!send_all(fd, head)) return false;
    const auto chunk = repeated(unit, 64 * 1024);
    while (bytes_sent_ < kSendBudget)
        if (!send_all(fd, chunk)) return false;
    idle_until_closed(fd);
    return false;
}

bool FakeRedis::trickle_forever(int fd) {
    if (!send_all(fd, "$2000000000\r\n")) return false;
    // Pacing of the fake itself, not a test waiting on time.
    while (send_all(fd, "x")) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return false;
}

void FakeRedis::idle_until_closed(int fd) {
    char sink[4096];
    while (!stopping_) {
        const auto n = ::recv(fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
}

}  // namespace llmgw::testing
