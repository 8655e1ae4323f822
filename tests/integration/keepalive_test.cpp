// Pooled upstream connections: closed when the server closes them, after keepalive.idle, and
// beyond keepalive.max_idle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>

#include "harness.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

// Sockets of llmgw's network namespace in CLOSE-WAIT (state 08) whose remote port is `port`:
// connections to the fake that it closed and llmgw has not.
int close_wait_sockets_to(pid_t pid, uint16_t port) {
    std::ifstream table("/proc/" + std::to_string(pid) + "/net/tcp");
    std::string line;
    std::getline(table, line);  // the column names
    int count = 0;
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        const auto remote_port = std::stoul(remote.substr(remote.find(':') + 1), nullptr, 16);
        if (state == "08" && remote_port == port) ++count;
    }
    return count;
}

// Connections the fake serves now, not counting the one that asks.
int fake_connections(const FakeModel& model) {
    return model.stats()["connections_open"].get<int>() - 1;
}

std::string backend_with(const FakeModel& model, const std::string& extra,
                         const TestPki* pki = nullptr) {
    const auto tls = pki != nullptr ? "    tls: { ca_file: \"" + pki->ca_cert + "\" }\n" : "";
    return "backends:\n  vllm:\n    endpoints: [ { url: \"" + model.url() + "\" } ]\n" + tls +
           extra + "routes:\n  - { name: chat, match: { path_prefix: /v1/ }, backend: vllm }\n";
}

// `count` requests at once, each held `delay_ms` by the fake: `count` upstream connections.
void send_at_once(const RunningGateway& gateway, int count, int delay_ms) {
    std::vector<std::future<int>> answers;
    for (int i = 0; i < count; ++i)
        answers.push_back(std::async(std::launch::async, [&] {
            return gateway
                .post("/v1/chat/completions", chat_body(),
                      {{"x-fake-delay-ms", std::to_string(delay_ms)}})
                .status;
        }));
    for (auto& answer : answers) ASSERT_EQ(answer.get(), 200);
}

// The server closes idle connections after 1 s; none may linger in CLOSE-WAIT, and the next
// requests go out on new connections, each sent once.
void expect_server_closes_are_followed(const FakeModel& model, RunningGateway& gateway) {
    send_at_once(gateway, 6, 200);
    ASSERT_TRUE(eventually([&] { return model.stats()["idle_closes"].get<int>() >= 6; }, 5s));
    EXPECT_TRUE(eventually(
        [&] { return close_wait_sockets_to(gateway.process().pid(), model.port()) == 0; }, 500ms))
        << close_wait_sockets_to(gateway.process().pid(), model.port()) << " in CLOSE-WAIT";
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
    EXPECT_EQ(model.stats()["by_path"]["/v1/chat/completions"], 12);  // nothing sent twice
    EXPECT_THAT(metrics_of(gateway),
                HasSubstr("llmgw_upstream_connections_closed_total{backend=\"vllm\",reason="
                          "\"server_closed\"} 6"));
}

}  // namespace

TEST(Keepalive, ConnectionsTheServerClosedLeaveCloseWaitAtOnce) {
    auto model = FakeModel::start("m", {"--close-idle-after-ms", "1000"});
    auto gateway = RunningGateway::start(backend_with(model, ""));
    expect_server_closes_are_followed(model, gateway);
}

TEST(Keepalive, TlsConnectionsTheServerClosedLeaveCloseWaitAtOnce) {
    TempDir dir;
    const auto pki = make_test_pki(dir);
    auto model = FakeModel::start("m", {"--close-idle-after-ms", "1000", "--tls-cert",
                                        pki.server_cert, "--tls-key", pki.server_key});
    auto gateway = RunningGateway::start(backend_with(model, "", &pki));
    expect_server_closes_are_followed(model, gateway);
}

TEST(Keepalive, ClosesConnectionsIdleLongerThanKeepaliveIdle) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(backend_with(model, "    keepalive: { idle: 300ms }\n"));
    ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
    const auto sent = std::chrono::steady_clock::now();
    // The fake never closes: only the gateway's timer can, 300 ms idle (+ its 100 ms sweep step).
    ASSERT_TRUE(eventually([&] { return fake_connections(model) == 0; }, 3s));
    EXPECT_GE(std::chrono::steady_clock::now() - sent, 250ms);
    EXPECT_THAT(metrics_of(gateway),
                HasSubstr("llmgw_upstream_connections_closed_total{backend=\"vllm\",reason="
                          "\"idle_timeout\"} 1"));
}

TEST(Keepalive, KeepsAtMostMaxIdleConnectionsPerEndpoint) {
    auto model = FakeModel::start("m");
    auto gateway = RunningGateway::start(backend_with(model, "    keepalive: { max_idle: 2 }\n"),
                                         GatewayOptions{.workers = 1});
    send_at_once(gateway, 6, 300);
    ASSERT_TRUE(eventually([&] { return fake_connections(model) == 2; }, 3s))
        << fake_connections(model) << " connections open";
    EXPECT_THAT(metrics_of(gateway),
                HasSubstr("llmgw_upstream_connections_closed_total{backend=\"vllm\",reason="
                          "\"overflow\"} 4"));
    // The two kept are reused: no new connection for the next requests.
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
    EXPECT_EQ(fake_connections(model), 2);
}
