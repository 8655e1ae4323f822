// Loopback port helpers on plain POSIX sockets (no Asio needed for two syscalls).
#include "support/ports.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace llmgw::testing {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

// Closes the descriptor on every path out of a function.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// One non-blocking connect attempt that gives up at `until`.
bool try_connect(uint16_t port, Clock::time_point until) {
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return false;
    sockaddr_in addr = loopback(port);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    if (errno != EINPROGRESS) return false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return false;
        pollfd pfd{sock.fd, POLLOUT, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // re-check the deadline
        int error = 0;
        socklen_t len = sizeof error;
        if (::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return false;
        return error == 0;
    }
}

}  // namespace

namespace {
// A TCP socket bound to 127.0.0.1 at a port the kernel chose, and that port.
uint16_t bind_loopback(int fd, const char* caller) {
    if (fd < 0) throw std::runtime_error(std::string(caller) + ": socket: " + std::strerror(errno));
    sockaddr_in addr = loopback(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error(std::string(caller) + ": bind: " + std::strerror(errno));
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string(caller) + ": getsockname: " + std::strerror(errno));
    return ntohs(addr.sin_port);
}
}  // namespace

namespace {
// Ports handed out come from below the kernel's ephemeral range (32768-60999 by default), so a
// port given to one test is never the one the kernel picks for another test's bind(0) or
// outgoing connection once it is closed again (a test's "dead" endpoint, say). A random
// start per process keeps two test processes apart; a counter keeps one process's ports apart.
constexpr uint16_t first_test_port = 20000;
constexpr uint16_t test_ports = 12000;

bool binds(uint16_t port) {
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) return false;
    sockaddr_in addr = loopback(port);
    return ::bind(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}
}  // namespace

uint16_t free_port() {
    static std::atomic<std::uint32_t> next{static_cast<std::uint32_t>(std::random_device{}())};
    for (int attempt = 0; attempt < 200; ++attempt) {
        const auto port = static_cast<uint16_t>(first_test_port + next.fetch_add(1) % test_ports);
        if (binds(port)) return port;
    }
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    return bind_loopback(sock.fd, "free_port");
}

LoopbackListener listen_on_loopback(int backlog) {
    LoopbackListener listener;
    listener.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    listener.port = bind_loopback(listener.fd, "listen_on_loopback");
    if (::listen(listener.fd, backlog) != 0)
        throw std::runtime_error(std::string("listen_on_loopback: listen: ") + std::strerror(errno));
    return listener;
}

bool wait_for_port(uint16_t port, std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    for (;;) {
        if (try_connect(port, until)) return true;
        auto now = Clock::now();
        if (now >= until) return false;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(std::chrono::milliseconds(10), until - now));
    }
}

}  // namespace llmgw::testing
