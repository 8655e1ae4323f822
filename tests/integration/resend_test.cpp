// Issue 22, point 1: a request that a model server read and then dropped (its kept-alive
// connection closed without an answer) is never sent a second time unasked. Only requests that
// cannot run twice (idempotent methods, Idempotency-Key) go again on a fresh connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

// A backend that answers the first request of each connection with keep-alive, and reads the
// second whole and closes the connection without a byte of answer: a worker killed mid-prefill.
class DroppingBackend {
public:
    DroppingBackend() {
        const auto listener = listen_on_loopback(16);
        fd_ = listener.fd;
        port_ = listener.port;
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~DroppingBackend() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        acceptor_.join();
        for (auto& connection : connections_) connection.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    // How many requests with this target the backend read whole.
    int received(const std::string& target) {
        std::lock_guard lock(mutex_);
        int n = 0;
        for (const auto& t : targets_) n += t == target;
        return n;
    }

private:
    void accept_loop() {
        for (;;) {
            const int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0) return;
            connections_.emplace_back([this, client] { serve(client); });
        }
    }
    // Reads one request (head and Content-Length body); its target, or "" when the peer left.
    static std::string read_request(int fd, std::string& buffer) {
        char chunk[4096];
        for (;;) {
            const auto end = buffer.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t length = 0;
                const auto at = buffer.find("Content-Length: ");
                if (at != std::string::npos && at < end) length = std::stoul(buffer.substr(at + 16));
                if (buffer.size() >= end + 4 + length) {
                    const auto line = buffer.substr(0, buffer.find("\r\n"));
                    buffer.erase(0, end + 4 + length);
                    const auto first = line.find(' ');
                    return line.substr(first + 1, line.find(' ', first + 1) - first - 1);
                }
            }
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return {};
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }
    void serve(int fd) {
        std::string buffer;
        for (int on_connection = 0;; ++on_connection) {
            const auto target = read_request(fd, buffer);
            if (target.empty()) break;
            {
                std::lock_guard lock(mutex_);
                targets_.push_back(target);
            }
            if (on_connection > 0) break;  // read whole, then dropped without an answer
            const std::string answer =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        ::close(fd);
    }

    int fd_ = -1;
    uint16_t port_ = 0;
    std::thread acceptor_;
    std::vector<std::thread> connections_;
    std::mutex mutex_;
    std::vector<std::string> targets_;
};

std::string config_for(const DroppingBackend& backend) {
    // One worker, so the second request finds the first one's pooled connection.
    return "backends: { b: { endpoints: [ { url: \"" + backend.url() +
           "\" } ] } }\nroutes: [ { name: r, backend: b, match: { path_prefix: / } } ]\n";
}

GatewayOptions one_worker() {
    GatewayOptions options;
    options.workers = 1;
    return options;
}

}  // namespace

TEST(Resend, ACompletionTheServerReadAndDroppedIsNotSentAgain) {
    DroppingBackend backend;
    auto gateway = RunningGateway::start(config_for(backend), one_worker());
    ASSERT_EQ(gateway.post("/v1/warm-up", chat_body()).status, 200);
    const auto dropped = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(dropped.status, 502) << dropped.body;
    EXPECT_EQ(dropped.json()["error"]["code"], "upstream_reset");
    ASSERT_TRUE(gateway.wait_for_access_lines(2, 5s));
    EXPECT_EQ(backend.received("/v1/chat/completions"), 1);
    const auto line = gateway.access_line_where("path", "/v1/chat/completions");
    EXPECT_EQ(line["attempts"], 1);
    EXPECT_EQ(line["error"], "upstream_reset");
}

TEST(Resend, IdempotentRequestsAndOnesWithAnIdempotencyKeyGoAgainOnAFreshConnection) {
    DroppingBackend backend;
    auto gateway = RunningGateway::start(config_for(backend), one_worker());
    ASSERT_EQ(gateway.post("/v1/warm-up", chat_body()).status, 200);
    const auto get = http_request(gateway.port(), {"GET", "/v1/models"});
    EXPECT_EQ(get.status, 200) << get.body;
    EXPECT_EQ(backend.received("/v1/models"), 2);  // dropped once, then answered

    // The fresh connection answered the GET; the POST below drops on it, and goes again.
    const auto keyed = gateway.post("/v1/chat/completions", chat_body(),
                                    {{"idempotency-key", "order-42"}});
    EXPECT_EQ(keyed.status, 200) << keyed.body;
    EXPECT_EQ(backend.received("/v1/chat/completions"), 2);

    ASSERT_TRUE(gateway.wait_for_access_lines(3, 5s));
    EXPECT_EQ(gateway.access_line_where("path", "/v1/models")["attempts"], 2);
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics,
                testing::HasSubstr(R"(llmgw_upstream_retries_total{backend="b",outcome="resent"} 2)"));
}
