// llmgw-otlp-sink PORT: an OTLP/HTTP sink for the benchmarks, on 127.0.0.1 (port 0: the OS
// picks; "listening on 127.0.0.1:PORT" is printed once listening). Every POST of an OTLP
// protobuf body is answered 200 {} and its spans counted (span_count.hpp); a body that is not an
// ExportTraceServiceRequest, or not sent as application/x-protobuf, is answered 400, as a
// collector would, so that the gateway counts its spans as dropped. Any GET answers
// {"requests": N, "spans": M, "malformed": K}. HTTP/1.1 keep-alive, Content-Length bodies.
//
// It shares the load core with wrk and the fake model server, so it must cost little: one
// thread, non-blocking sockets and epoll, no parse of a span.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "span_count.hpp"

namespace {

constexpr std::size_t max_head = 64 * 1024;
constexpr std::size_t max_body = 64 * 1024 * 1024;

struct Counts {
    std::size_t requests = 0, spans = 0, malformed = 0;
};

// Bytes read and not yet consumed: grown by doubling, never zero-filled, and passed on to the
// next connection when this one closes (the gateway opens one per export), so that a steady
// load reads every body into memory already mapped. A fresh buffer per export of a few hundred
// kilobytes cost more in page faults than all the rest of the sink.
class InBuffer {
public:
    std::string_view view() const { return {data_.get(), size_}; }
    // Room for at least `n` more bytes at the returned pointer.
    char* room(std::size_t n, std::size_t& available) {
        if (size_ + n > capacity_) {
            const auto capacity = std::max(2 * capacity_, size_ + n);
            auto data = std::make_unique_for_overwrite<char[]>(capacity);
            if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
            data_ = std::move(data);
            capacity_ = capacity;
        }
        available = capacity_ - size_;
        return data_.get() + size_;
    }
    void advance(std::size_t n) { size_ += n; }
    void consume(std::size_t n) {
        if (n < size_) std::memmove(data_.get(), data_.get() + n, size_ - n);
        size_ -= n;
    }
    void clear() { size_ = 0; }

private:
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

struct Connection {
    int fd = -1;
    InBuffer in;      // bytes read and not yet consumed
    std::string out;  // answers not yet written
    bool close_after = false;
    bool want_write = false;
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void answer(Connection& c, int status, std::string_view body) {
    c.out += status == 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 400 Bad Request\r\n";
    c.out += "content-type: application/json\r\ncontent-length: ";
    c.out += std::to_string(body.size());
    c.out += c.close_after ? "\r\nconnection: close\r\n\r\n" : "\r\n\r\n";
    c.out += body;
}

struct Head {
    std::string_view method, content_type;
    std::size_t content_length = 0;
    bool close = false, bad = false;
};

// The request line and headers (up to the blank line) of `head`.
Head parse_head(std::string_view head) {
    Head parsed;
    auto line_end = head.find("\r\n");
    const auto request_line = head.substr(0, line_end);
    parsed.method = request_line.substr(0, request_line.find(' '));
    parsed.close = request_line.ends_with("HTTP/1.0");
    while (line_end != std::string_view::npos && line_end + 2 < head.size()) {
        const auto begin = line_end + 2;
        line_end = head.find("\r\n", begin);
        const auto line = head.substr(begin, line_end - begin);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const auto name = line.substr(0, colon);
        const auto value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            const auto [end, error] =
                std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
            parsed.bad = parsed.bad || error != std::errc() || end != value.data() + value.size() ||
                         parsed.content_length > max_body;
        } else if (iequals(name, "content-type")) {
            parsed.content_type = value;
        } else if (iequals(name, "connection")) {
            if (iequals(value, "close")) parsed.close = true;
            if (iequals(value, "keep-alive")) parsed.close = false;
        } else if (iequals(name, "transfer-encoding")) {
            parsed.bad = true;  // only Content-Length bodies
        }
    }
    return parsed;
}

// Answers every complete request in c.in; false when the connection must close at once.
bool serve(Connection& c, Counts& counts) {
    const auto in = c.in.view();
    std::size_t at = 0;
    while (!c.close_after) {
        const auto head_end = in.find("\r\n\r\n", at);
        if (head_end == std::string_view::npos) {
            if (in.size() - at > max_head) return false;
            break;
        }
        const auto head = parse_head(in.substr(at, head_end + 2 - at));
        if (head.bad) {
            c.close_after = true;
            answer(c, 400, R"({"code": 3})");
            break;
        }
        const auto body_begin = head_end + 4;
        if (in.size() - body_begin < head.content_length) break;  // the body is not all here
        const auto body = in.substr(body_begin, head.content_length);
        at = body_begin + head.content_length;
        c.close_after = head.close;
        if (head.method == "POST") {
            ++counts.requests;
            const auto spans = head.content_type == "application/x-protobuf"
                                   ? otlp_sink::count_spans(body)
                                   : std::nullopt;
            if (!spans) {
                ++counts.malformed;
                answer(c, 400, R"({"code": 3})");
            } else {
                counts.spans += *spans;
                answer(c, 200, "{}");
            }
        } else {
            answer(c, 200, "{\"requests\": " + std::to_string(counts.requests) +
                               ", \"spans\": " + std::to_string(counts.spans) +
                               ", \"malformed\": " + std::to_string(counts.malformed) + "}");
        }
    }
    c.in.consume(at);
    return true;
}

// Writes what it can of c.out; false on an error.
bool flush(Connection& c) {
    while (!c.out.empty()) {
        const auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        c.out.erase(0, static_cast<std::size_t>(n));
    }
    return true;
}

int listen_on(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 512) != 0) {
        std::perror("llmgw-otlp-sink: listen");
        std::exit(1);
    }
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(ntohs(address.sin_port)));
    std::fflush(stdout);
    return fd;
}

class Sink {
public:
    explicit Sink(int listener) : listener_(listener), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = listener_;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &event);
    }

    [[noreturn]] void run() {
        epoll_event events[64];
        for (;;) {
            const int n = ::epoll_wait(epoll_, events, 64, -1);
            for (int i = 0; i < n; ++i) {
                if (events[i].data.fd == listener_) {
                    accept_all();
                } else {
                    ready(events[i].data.fd, events[i].events);
                }
            }
        }
    }

private:
    void accept_all() {
        for (;;) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto& c = connections_[fd];
            c.fd = fd;
            if (!spare_.empty()) {  // a closed connection's buffer, its memory mapped already
                c.in = std::move(spare_.back());
                spare_.pop_back();
            }
            epoll_event event{};
            event.events = EPOLLIN | EPOLLRDHUP;
            event.data.fd = fd;
            ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
        }
    }

    void ready(int fd, std::uint32_t events) {
        auto& c = connections_[fd];
        bool open = true;
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) open = read(c);
        if (open) open = serve(c, counts_) && flush(c);
        if (open && c.close_after && c.out.empty()) open = false;
        if (!open) return close(c);
        const bool want_write = !c.out.empty();
        if (want_write != c.want_write) {
            c.want_write = want_write;
            epoll_event event{};
            event.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u);
            event.data.fd = fd;
            ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &event);
        }
    }

    // Reads all that is there; false when the peer closed or the socket failed.
    static bool read(Connection& c) {
        for (;;) {
            std::size_t available = 0;
            char* at = c.in.room(64 * 1024, available);
            const auto n = ::recv(c.fd, at, available, 0);
            if (n > 0) {
                c.in.advance(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            if (n < 0 && errno == EINTR) continue;
            return false;
        }
    }

    void close(Connection& c) {
        ::close(c.fd);
        c.in.clear();
        if (spare_.size() < 16) spare_.push_back(std::move(c.in));
        connections_.erase(c.fd);
    }

    int listener_;
    int epoll_;
    Counts counts_;
    std::unordered_map<int, Connection> connections_;
    std::vector<InBuffer> spare_;
};

}  // namespace

int main(int argc, char** argv) {
    unsigned port = 0;
    const std::string_view text = argc == 2 ? argv[1] : "";
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (argc != 2 || error != std::errc() || end != text.data() + text.size() || port > 65535) {
        std::fprintf(stderr, "usage: llmgw-otlp-sink PORT (on 127.0.0.1; 0: any free port)\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    Sink(listen_on(static_cast<std::uint16_t>(port))).run();
}
