// A blocking HTTP/1.0 GET over a POSIX socket: small, and no Beast templates in the binary's
// command-line path.
#include "llmgw/observability/health_probe.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace llmgw::observability {
namespace {

struct Target {
    std::string host;
    std::string port;
    std::string path;
};

bool parse_url(std::string_view url, Target& target) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) return false;
    url.remove_prefix(scheme.size());
    const auto slash = url.find('/');
    const auto authority = url.substr(0, slash);
    target.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    std::string_view host = authority, port = "80";
    if (!authority.empty() && authority.front() == '[') {  // [::1]:9090
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return false;
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    target.host = host;
    target.port = port;
    return !target.host.empty() && !target.port.empty();
}

struct FdCloser {
    void operator()(const int* fd) const {
        ::close(*fd);
        delete fd;
    }
};

}  // namespace

ProbeResult probe_health(std::string_view url, std::chrono::milliseconds timeout) {
    Target target;
    if (!parse_url(url, target)) return {false, "not an http://host:port/path URL"};

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found))
        return {false, std::string("cannot resolve ") + target.host + ": " + gai_strerror(rc)};
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);

    const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) return {false, std::strerror(errno)};
    std::unique_ptr<int, FdCloser> socket(new int(fd));
    // On Linux the send timeout also bounds connect().
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    limit.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0)
        return {false, std::string("cannot connect: ") + std::strerror(errno)};

    const std::string request = "GET " + target.path + " HTTP/1.0\r\nHost: " + target.host +
                                "\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
        return {false, std::string("cannot send: ") + std::strerror(errno)};

    // Only the status line matters.
    std::string head;
    char buffer[512];
    while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        head.append(buffer, static_cast<std::size_t>(n));
    }
    const auto line_end = head.find("\r\n");
    if (line_end == std::string::npos) return {false, "no HTTP answer"};
    const auto status_line = head.substr(0, line_end);
    const bool ok = status_line.size() >= 12 && status_line.compare(0, 5, "HTTP/") == 0 &&
                    status_line.compare(8, 4, " 200") == 0;
    return {ok, status_line};
}

}  // namespace llmgw::observability
