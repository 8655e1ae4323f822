// Issue 20: request bodies cannot exhaust the gateway's memory. Credentials are checked on the
// head, so a client without them never makes the gateway read its body; the bodies that are
// read share one budget (server.max_body_memory); and an allocation that fails all the same
// fails that request, never the process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;
using testing::StartsWith;

namespace {

// A field of /proc/<pid>/status in KiB (VmHWM: peak resident memory; VmSize: address space).
long status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return -1;
}

std::string head_with_length(std::size_t length, const std::string& extra_headers = "") {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
           extra_headers + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

std::string backend_and_route_for(const FakeModel& model) {
    return "backends: { b: { endpoints: [ { url: \"" + model.url() +
           "\" } ] } }\nroutes: [ { name: chat, backend: b, match: { path_prefix: /v1/ } } ]\n";
}

// Sends `bytes` on each connection from a few threads at once; results are not looked at.
void send_on_all(std::vector<RawConnection>& connections, const std::string& bytes) {
    std::vector<std::thread> senders;
    constexpr std::size_t threads = 4;
    for (std::size_t t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (std::size_t i = t; i < connections.size(); i += threads)
                connections[i].send(bytes, 3s);
        });
    for (auto& sender : senders) sender.join();
}

}  // namespace

TEST(BodyMemory, RequestsWithoutCredentialsAreRefusedOnTheirHeadAndTheirBodiesNeverRead) {
    auto model = FakeModel::start("m1");
    const std::string key = "sk-body-memory-test-key";
    auto gateway = RunningGateway::start(
        "tiers: { pro: {} }\n"
        "consumers: [ { name: acme, tier: pro, keys: [ { sha256: \"" + sha256_hex(key) +
        "\" } ] } ]\n" + backend_and_route_for(model));
    const auto pid = gateway.process().pid();
    const auto before = status_kib(pid, "VmHWM");
    ASSERT_GT(before, 0);

    constexpr std::size_t clients = 100;
    constexpr std::size_t body_bytes = 8 * 1024 * 1024;
    std::vector<RawConnection> connections;
    for (std::size_t i = 0; i < clients; ++i) {
        connections.emplace_back(gateway.port());
        ASSERT_TRUE(connections.back().send(head_with_length(body_bytes)));
    }
    // The 401 comes on the head alone, with the connection to be closed.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (auto& connection : connections) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const auto answer = connection.read_some(std::max(left, 1ms));
        ASSERT_THAT(answer, StartsWith("HTTP/1.1 401")) << "no answer before the body";
        EXPECT_THAT(answer, HasSubstr("Connection: close"));
    }
    // Whatever the clients send now is never kept: 800 MiB offered, nothing held.
    send_on_all(connections, std::string(body_bytes, 'x'));
    connections.clear();
    EXPECT_LT(status_kib(pid, "VmHWM") - before, 64 * 1024);

    // Authenticated requests still have their bodies read and forwarded.
    const auto ok = gateway.post("/v1/chat/completions", chat_body(),
                                 {{"authorization", "Bearer " + key}});
    EXPECT_EQ(ok.status, 200) << ok.body;
    const auto admin = http_request(gateway.admin_port(), {"GET", "/metrics"});
    EXPECT_THAT(admin.body, HasSubstr(R"(llmgw_auth_failures_total{reason="missing"} 100)"));
}

TEST(BodyMemory, BodiesBeyondTheSharedBudgetGet503BeforeTheyAreRead) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.server_extra = "  max_body_bytes: 4MiB\n  max_body_memory: 16MiB\n";
    auto gateway = RunningGateway::start(backend_and_route_for(model), options);

    // Eight clients announce 4 MiB each and send one byte of it: four fit in 16 MiB.
    const auto body = chat_body().dump();
    const std::size_t length = 4 * 1024 * 1024;
    const std::string padded = body + std::string(length - body.size(), ' ');
    std::vector<RawConnection> connections;
    for (int i = 0; i < 8; ++i) {
        connections.emplace_back(gateway.port());
        ASSERT_TRUE(connections.back().send(head_with_length(length) + padded.substr(0, 1)));
    }
    std::vector<bool> refused(connections.size(), false);
    std::size_t refusals = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (refusals < 4 && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < connections.size(); ++i) {
            if (refused[i]) continue;
            const auto answer = connections[i].read_some(20ms);
            if (answer.empty()) continue;
            EXPECT_THAT(answer, StartsWith("HTTP/1.1 503"));
            EXPECT_THAT(answer, HasSubstr("Retry-After: 1"));
            EXPECT_THAT(answer, HasSubstr("server_busy"));
            refused[i] = true;
            ++refusals;
        }
    }
    ASSERT_EQ(refusals, 4u);
    // The four that fit finish their bodies and are answered.
    for (std::size_t i = 0; i < connections.size(); ++i) {
        if (refused[i]) continue;
        ASSERT_TRUE(connections[i].send(padded.substr(1)));
        const auto answer = connections[i].read_some(10s);
        EXPECT_THAT(answer, StartsWith("HTTP/1.1 200")) << answer.substr(0, 200);
    }
    connections.clear();
    // Their share is given back when they end: the budget admits a new 4 MiB body.
    const auto again = eventually(
        [&] {
            return http_request(gateway.port(), {"POST",
                                                 "/v1/chat/completions",
                                                 {{"content-type", "application/json"}},
                                                 padded})
                       .status == 200;
        },
        5s);
    EXPECT_TRUE(again);
}

#if !defined(__SANITIZE_ADDRESS__)
// A sanitizer's allocator reserves terabytes of address space, so this runs without one.
TEST(BodyMemory, AnAllocationThatFailsFailsItsRequestNotTheProcess) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.server_extra = "  max_body_bytes: 256MiB\n  max_body_memory: 8GiB\n";
    options.env["MALLOC_ARENA_MAX"] = "2";
    auto gateway = RunningGateway::start(backend_and_route_for(model), options);
    const auto pid = gateway.process().pid();
    // As a container's memory limit would: 600 MiB more address space than it has now.
    const rlim_t limit = static_cast<rlim_t>(status_kib(pid, "VmSize") + 600 * 1024) * 1024;
    const rlimit cap{limit, limit};
    ASSERT_EQ(prlimit(pid, RLIMIT_AS, &cap, nullptr), 0);

    // Six clients announce 200 MiB each (within max_body_memory): not all can be mapped.
    std::vector<RawConnection> connections;
    for (int i = 0; i < 6; ++i) {
        connections.emplace_back(gateway.port());
        ASSERT_TRUE(connections.back().send(head_with_length(200 * 1024 * 1024) + "{"));
    }
    std::size_t refused = 0;
    for (auto& connection : connections) {
        const auto answer = connection.read_some(500ms);
        if (answer.rfind("HTTP/1.1 503", 0) == 0) ++refused;
    }
    EXPECT_GE(refused, 3u);
    connections.clear();
    ASSERT_TRUE(gateway.process().running());
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
}
#endif
