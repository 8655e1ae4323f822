// redis-server child processes for tests, ready once they answer PING on a raw socket.
#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/ports.hpp"

namespace llmgw::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Sends one inline command and reads the first reply line, all before `until`.
// nullopt if nothing listens or no full line came back in time.
std::optional<std::string> ask(uint16_t port, std::string_view request, Clock::time_point until) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
        return std::nullopt;
    auto wait = [&](short events) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            if (left.count() <= 0) return false;
            pollfd pfd{fd, events, 0};
            int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
            if (ready > 0)
                return (pfd.revents & (POLLERR | POLLHUP)) == 0 || (pfd.revents & POLLIN);
            if (ready < 0 && errno != EINTR) return false;
        }
    };
    if (!wait(POLLOUT)) return std::nullopt;
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
        return std::nullopt;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
        return std::nullopt;
    std::string reply;
    while (reply.find("\r\n") == std::string::npos) {
        if (!wait(POLLIN)) return std::nullopt;
        char buffer[256];
        ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return std::nullopt;
        if (got > 0) reply.append(buffer, static_cast<std::size_t>(got));
    }
    return reply.substr(0, reply.find("\r\n"));
}

}  // namespace

RedisServer::RedisServer(uint16_t port, std::vector<std::string> extra_args)
    : port_(port), extra_args_(std::move(extra_args)) {
    for (std::size_t i = 0; i + 1 < extra_args_.size(); ++i) {
        if (extra_args_[i] == "--requirepass") password_ = extra_args_[i + 1];
    }
}

RedisServer RedisServer::start(std::vector<std::string> extra_args) {
    return start_tls({}, std::move(extra_args));
}

RedisServer RedisServer::start_tls(Tls tls, std::vector<std::string> extra_args) {
    // A free port can be taken by someone else before redis binds it: try a few.
    for (int attempt = 1;; ++attempt) {
        RedisServer server(free_port(), extra_args);
        if (!tls.cert.empty()) server.tls_ = tls;
        try {
            server.launch();
            return server;
        } catch (const std::runtime_error&) {
            if (attempt == 3) throw;
        }
    }
}

std::vector<std::string> RedisServer::launch_args() const {
    std::vector<std::string> args{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--protected-mode", "no"};
    if (!tls_) {
        args.insert(args.end(), {"--port", std::to_string(port_)});
    } else {
        args.insert(args.end(),
                    {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                     tls_->cert, "--tls-key-file", tls_->key, "--tls-ca-cert-file", tls_->ca,
                     "--tls-auth-clients", tls_->client_cert.empty() ? "no" : "yes"});
    }
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    return args;
}

// Any answer counts, "-NOAUTH" included: the server is up and serving.
bool RedisServer::answers_ping() {
    if (!tls_) return ask(port_, "PING\r\n", Clock::now() + 1s).has_value();
    try {
        cli({"PING"});
        return true;
    } catch (const std::runtime_error&) {
        return false;
    }
}

void RedisServer::launch() {
    process_ = Process::start("redis-server", launch_args());
    const auto until = Clock::now() + 10s;
    while (Clock::now() < until && process_->running()) {
        if (answers_ping()) return;
        std::this_thread::sleep_for(10ms);
    }
    std::string output = process_->stdout_text() + process_->stderr_text();
    process_.reset();
    throw std::runtime_error("redis-server on port " + std::to_string(port_) +
                             " did not answer PING: " + output);
}

void RedisServer::stop() {
    if (process_) process_->terminate(5s);
}

void RedisServer::kill() {
    if (!process_) return;
    process_->signal(SIGKILL);
    process_->wait_exit(5s);
}

void RedisServer::restart() {
    if (running()) stop();
    launch();
}

void RedisServer::pause(std::chrono::milliseconds duration) {
    std::string out = cli({"CLIENT", "PAUSE", std::to_string(duration.count())});
    if (out != "OK") throw std::runtime_error("CLIENT PAUSE failed: " + out);
}

std::string RedisServer::cli(std::vector<std::string> args) {
    std::vector<std::string> argv{"-p", std::to_string(port_)};
    if (tls_) argv.insert(argv.end(), {"--tls", "--cacert", tls_->ca});
    if (tls_ && !tls_->client_cert.empty())
        argv.insert(argv.end(), {"--cert", tls_->client_cert, "--key", tls_->client_key});
    if (!password_.empty()) argv.insert(argv.end(), {"-a", password_, "--no-auth-warning"});
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, err;
    auto status = run_to_exit("redis-cli", std::move(argv), 5s, &out, &err);
    if (status != 0) throw std::runtime_error("redis-cli failed: " + err + out);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

}  // namespace llmgw::testing
