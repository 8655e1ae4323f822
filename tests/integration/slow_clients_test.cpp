// Slowloris through the real binary: a thousand connections that dribble their request head a
// byte at a time or stall in the body are closed with 408 at header_timeout / body_timeout,
// and normal clients are answered quickly all the while.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSlowClients = 1000;
constexpr auto kHeaderTimeout = 1000ms;
constexpr auto kBodyTimeout = 1500ms;

// Raises this process's descriptor limit to its hard limit; the number it ends up with.
rlim_t raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

// One hostile connection, driven without blocking from one thread for all of them.
struct SlowClient {
    int fd = -1;
    bool dribbles_head = true;  // else: sends its head at once and stalls in the body
    std::string to_send{};
    std::size_t sent = 0;
    Clock::time_point opened{};
    std::optional<Clock::time_point> closed{};
    std::string reply{};
};

int connect_nonblocking(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends the next byte of every dribbling client every `pace`, records replies and closes,
// until every client is closed or `until` passes.
void drive(std::vector<SlowClient>& clients, Clock::time_point until,
           std::chrono::milliseconds pace) {
    std::vector<pollfd> fds(clients.size());
    auto next_dribble = Clock::now();
    std::size_t open = clients.size();
    while (open > 0 && Clock::now() < until) {
        const bool dribble_now = Clock::now() >= next_dribble;
        if (dribble_now) next_dribble += pace;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            auto& client = clients[i];
            fds[i] = {client.closed ? -1 : client.fd, POLLIN, 0};
            if (client.closed || client.sent >= client.to_send.size()) continue;
            // Body stallers send everything they have at once; dribblers one byte per round.
            const std::size_t want =
                client.dribbles_head ? (dribble_now ? 1 : 0) : client.to_send.size() - client.sent;
            if (want == 0) continue;
            const auto n =
                ::send(client.fd, client.to_send.data() + client.sent, want, MSG_NOSIGNAL);
            if (n > 0) client.sent += static_cast<std::size_t>(n);
        }
        ::poll(fds.data(), fds.size(), 5);
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buffer[4096];
            const auto n = ::recv(clients[i].fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                clients[i].reply.append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                clients[i].closed = Clock::now();
                --open;
            }
        }
    }
}

}  // namespace

TEST(SlowClients, AThousandSlowConnectionsAreClosedOnTimeAndDoNotSlowNormalClients) {
    const auto limit = raise_open_file_limit();
    ASSERT_GE(limit, rlim_t{kSlowClients + 200})
        << "the open-file hard limit is too low for this test";

    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.server_extra = "  header_timeout: 1s\n  body_timeout: 1500ms\n";
    auto gateway =
        RunningGateway::start("backends:\n  vllm: { endpoints: [ { url: \"" + model.url() +
                                  "\" } ] }\nroutes:\n  - { name: all, backend: vllm }\n",
                              options);

    const std::string head =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n";
    std::vector<SlowClient> clients(kSlowClients);
    for (int i = 0; i < kSlowClients; ++i) {
        auto& client = clients[static_cast<std::size_t>(i)];
        client.fd = connect_nonblocking(gateway.port());
        ASSERT_GE(client.fd, 0) << "connection " << i << ": " << std::strerror(errno);
        client.opened = Clock::now();
        client.dribbles_head = i % 2 == 0;
        client.to_send = client.dribbles_head ? head : head + "{\"model\":";
    }

    // The slow clients run in the background while normal clients are served.
    std::thread driver([&] { drive(clients, Clock::now() + 6s, 100ms); });
    std::vector<Clock::duration> latencies;
    std::vector<int> statuses;
    const auto normal_until = clients.front().opened + 900ms;  // all slow ones are still open
    while (Clock::now() < normal_until || latencies.size() < 10) {
        const auto started = Clock::now();
        const auto response = http_request(gateway.port(),
                                           {"POST",
                                            "/v1/chat/completions",
                                            {{"content-type", "application/json"}},
                                            chat_body().dump()},
                                           5s);
        latencies.push_back(Clock::now() - started);
        statuses.push_back(response.status);
    }
    driver.join();

    for (const auto status : statuses) EXPECT_EQ(status, 200);
    const auto slowest = *std::max_element(latencies.begin(), latencies.end());
    auto sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    const auto median = sorted[sorted.size() / 2];
    const auto ms = [](Clock::duration d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    std::cout << "normal requests: " << latencies.size() << ", median " << ms(median)
              << " ms, slowest " << ms(slowest) << " ms\n";
    // Generous (a normal answer takes a few ms, more under ASan on a busy machine): a second
    // would mean the slow connections are in its way.
    EXPECT_LT(slowest, 1000ms);

    int dribblers_closed = 0;
    int stallers_closed = 0;
    Clock::duration latest_close{};
    for (std::size_t i = 0; i < clients.size(); ++i) {
        auto& client = clients[i];
        ::close(client.fd);
        ASSERT_TRUE(client.closed) << "slow connection " << i << " is still open";
        EXPECT_THAT(client.reply, testing::StartsWith("HTTP/1.1 408")) << i;
        const auto open_for = *client.closed - client.opened;
        latest_close = std::max(latest_close, open_for);
        // Not before its timeout; not much after it (the load here is 1,000 connections).
        const auto timeout = client.dribbles_head ? kHeaderTimeout : kBodyTimeout;
        EXPECT_GE(open_for, timeout - 50ms) << i;
        EXPECT_LT(open_for, timeout + 1500ms) << i;
        (client.dribbles_head ? dribblers_closed : stallers_closed) += 1;
    }
    std::cout << "slow connections closed: " << dribblers_closed << " head dribblers, "
              << stallers_closed << " body stallers, the last after " << ms(latest_close)
              << " ms\n";
    EXPECT_EQ(model.stats()["requests_total"], static_cast<int>(latencies.size()));
}
