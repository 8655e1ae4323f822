// Forwarding when model servers are slow, failing or gone: health checks, circuit breakers,
// timeouts, retries, balancing, overload, and clients that leave.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

using clock_type = std::chrono::steady_clock;

// A port that accepts TCP connections (the kernel completes the handshake) but never answers.
class SilentListener {
public:
    SilentListener() {
        const auto listener = listen_on_loopback();
        fd_ = listener.fd;
        port_ = listener.port;
    }
    ~SilentListener() { ::close(fd_); }
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

std::string endpoint_list(const std::vector<std::string>& urls) {
    std::string out = "    endpoints:\n";
    for (const auto& url : urls) out += "      - url: \"" + url + "\"\n";
    return out;
}

std::string one_route(const std::string& backend_body) {
    return "backends:\n  pool:\n" + backend_body + "routes:\n  - { name: chat, backend: pool }\n";
}

nlohmann::json admin_backends(const RunningGateway& gateway) {
    return http_request(gateway.admin_port(), {"GET", "/admin/backends"}).json();
}


std::string post_to(const RunningGateway& gateway, HttpHeaders headers = {}) {
    return gateway.post("/v1/chat/completions", chat_body(), std::move(headers))
        .header("x-fake-server");
}

}  // namespace

TEST(Resilience, ADeadPortInThePoolCostsClientsNothing) {
    auto live = FakeModel::start("live");
    const auto dead = "http://127.0.0.1:" + std::to_string(free_port());
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({dead, live.url()}) +
                  "    circuit_breaker: { failure_threshold: 2, open_for: 30s }\n"));
    for (int i = 0; i < 20; ++i) {
        const auto response = gateway.post("/v1/chat/completions", chat_body());
        ASSERT_EQ(response.status, 200) << "request " << i << ": " << response.body;
    }
    EXPECT_EQ(live.stats()["requests_total"], 20);
    const auto endpoints = admin_backends(gateway)["backends"][0]["endpoints"];
    EXPECT_EQ(endpoints[0]["circuit"], "open");
    EXPECT_EQ(endpoints[1]["circuit"], "closed");
}

TEST(Resilience, HealthChecksDrainAnEndpointAndBringItBack) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({a.url(), b.url()}) +
                  "    health_check: { path: /health, interval: 100ms, timeout: 200ms, "
                  "unhealthy_after: 2, healthy_after: 1 }\n"));
    ASSERT_EQ(http_request(b.port(), {"POST", "/fake/health/fail"}).status, 200);
    ASSERT_TRUE(eventually(
        [&] { return admin_backends(gateway)["backends"][0]["endpoints"][1]["healthy"] == false; },
        3s));
    for (int i = 0; i < 10; ++i) EXPECT_EQ(post_to(gateway), "a");

    ASSERT_EQ(http_request(b.port(), {"POST", "/fake/health/ok"}).status, 200);
    ASSERT_TRUE(eventually(
        [&] { return admin_backends(gateway)["backends"][0]["endpoints"][1]["healthy"] == true; },
        3s));
    std::map<std::string, int> hits;
    for (int i = 0; i < 10; ++i) ++hits[post_to(gateway)];
    EXPECT_EQ(hits["a"], 5);
    EXPECT_EQ(hits["b"], 5);
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics, HasSubstr("llmgw_endpoint_healthy{backend=\"pool\",endpoint=\"" + b.url() +
                                   "\"} 1"));
}

TEST(Resilience, TritonStyleHealthPathWorksToo) {
    auto a = FakeModel::start("a");
    auto gateway = RunningGateway::start(one_route(
        endpoint_list({a.url()}) +
        "    health_check: { path: /v2/health/ready, interval: 100ms, unhealthy_after: 1 }\n"));
    ASSERT_EQ(http_request(a.port(), {"POST", "/fake/health/fail"}).status, 200);
    ASSERT_TRUE(eventually(
        [&] { return admin_backends(gateway)["backends"][0]["endpoints"][0]["healthy"] == false; },
        3s));
    // Nothing healthy: a fast 503 with Retry-After instead of a wait.
    const auto started = clock_type::now();
    const auto response = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.json()["error"]["code"], "no_healthy_endpoint");
    EXPECT_FALSE(response.header("retry-after").empty());
    EXPECT_LT(clock_type::now() - started, 500ms);
}

TEST(Resilience, Consistent500sOpenTheCircuitAndTrafficMoves) {
    auto failing = FakeModel::start("failing");
    auto good = FakeModel::start("good");
    ASSERT_EQ(http_request(failing.port(), {"POST", "/fake/status/500"}).status, 200);
    auto gateway =
        RunningGateway::start(one_route(endpoint_list({failing.url(), good.url()}) +
                                        "    circuit_breaker: { failure_threshold: 3, open_for: "
                                        "500ms }\n    retries: { attempts: 0 }\n"));
    int errors = 0;
    for (int i = 0; i < 20; ++i)
        errors += gateway.post("/v1/chat/completions", chat_body()).status == 500;
    EXPECT_EQ(errors, 3);  // the upstream's own 500s pass through until the circuit opens
    EXPECT_EQ(failing.stats()["requests_total"], 3);
    EXPECT_THAT(http_request(gateway.admin_port(), {"GET", "/metrics"}).body,
                HasSubstr("llmgw_endpoint_circuit_state{backend=\"pool\",endpoint=\"" +
                          failing.url() + "\"} 2"));

    // Repaired: after open_for a probe gets through, succeeds, and the circuit closes.
    ASSERT_EQ(http_request(failing.port(), {"POST", "/fake/status/0"}).status, 200);
    ASSERT_TRUE(eventually(
        [&] {
            gateway.post("/v1/chat/completions", chat_body());
            return admin_backends(gateway)["backends"][0]["endpoints"][0]["circuit"] == "closed";
        },
        5s));
}

TEST(Resilience, Retries502And503OnAnotherEndpointWithinTheBudget) {
    auto failing = FakeModel::start("failing");
    auto good = FakeModel::start("good");
    ASSERT_EQ(http_request(failing.port(), {"POST", "/fake/status/503"}).status, 200);
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({failing.url(), good.url()}) +
                  "    retries: { attempts: 1, on: [connect_failure, 502, 503] }\n"
                  "    circuit_breaker: { failure_threshold: 1000 }\n"));
    for (int i = 0; i < 10; ++i) {
        const auto response = gateway.post("/v1/chat/completions", chat_body());
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.header("x-fake-server"), "good");
    }
    // Every answer came from the good endpoint; each 503 was retried, never shown to the client.
    const auto failed_first = failing.stats()["requests_total"].get<int>();
    EXPECT_GT(failed_first, 0);
    EXPECT_THAT(http_request(gateway.admin_port(), {"GET", "/metrics"}).body,
                HasSubstr("llmgw_upstream_retries_total{backend=\"pool\",outcome=\"attempt\"} " +
                          std::to_string(failed_first)));
}

TEST(Resilience, FirstByteTimeoutIs504AtTheConfiguredTime) {
    auto slow = FakeModel::start("slow");
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({slow.url()}) +
                  "    timeouts: { first_byte: 500ms }\n    retries: { attempts: 0 }\n"));
    const auto started = clock_type::now();
    const auto response =
        gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "3000"}});
    const auto took = clock_type::now() - started;
    EXPECT_EQ(response.status, 504);
    EXPECT_GE(took, 400ms);
    EXPECT_LE(took, 600ms + 100ms);
}

TEST(Resilience, AnEndpointThatAcceptsButNeverAnswersGives504) {
    SilentListener silent;
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({"http://127.0.0.1:" + std::to_string(silent.port())}) +
                  "    timeouts: { first_byte: 300ms }\n"));
    const auto started = clock_type::now();
    const auto response = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(response.status, 504);
    EXPECT_LT(clock_type::now() - started, 1s);
}

// A streamed chat completion of `chunks` words `interval_ms` apart, through a gateway whose
// backend's idle timeout is 400 ms.
StreamedResponse stream_under_idle_timeout(int chunks, int interval_ms) {
    auto model = FakeModel::start("paced");
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({model.url()}) + "    timeouts: { idle: 400ms }\n"));
    return http_stream(gateway.port(),
                       {"POST",
                        "/v1/chat/completions",
                        {{"x-fake-chunks", std::to_string(chunks)},
                         {"x-fake-chunk-interval-ms", std::to_string(interval_ms)}},
                        chat_body("fake-model", true).dump()},
                       5s);
}

TEST(Resilience, IdleTimeoutCutsAStreamAtTheConfiguredTime) {
    const auto response = stream_under_idle_timeout(5, 2000);
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.complete);
    ASSERT_GE(response.chunks.size(), 2u);
    const auto first = response.chunks.front().arrived_after;
    const auto cut =
        response.chunks.back().arrived_after;  // the gateway's error event, then the close
    EXPECT_GE(cut - first, 320ms);
    EXPECT_LE(cut - first, 480ms + 100ms);
    const auto events = sse_data_lines(response.body());
    EXPECT_EQ(nlohmann::json::parse(events.back())["error"]["code"], "upstream_timeout");
}

// The idle timeout runs from each read's end, not from the answer's head: a stream whose
// events come more often than it never ends by it, however long it lasts in all.
TEST(Resilience, AStreamWhoseEventsComeMoreOftenThanTheIdleTimeoutRunsToItsEnd) {
    const auto response = stream_under_idle_timeout(6, 200);
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(response.complete);
    ASSERT_GE(response.chunks.size(), 2u);
    // Five gaps of 200 ms: three times the idle timeout in all.
    EXPECT_GE(response.chunks.back().arrived_after - response.chunks.front().arrived_after, 900ms);
    const auto events = sse_data_lines(response.body());
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
}

TEST(Resilience, AClientThatLeavesCancelsTheUpstreamRequest) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_route(endpoint_list({model.url()})));
    {
        // Waiting for the first token (5 s away), the client gives up.
        RawConnection raw(gateway.port());
        const auto body = chat_body("fake-model", true).dump();
        ASSERT_TRUE(
            raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-fake-delay-ms: 5000\r\n"
                     "Content-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
        ASSERT_TRUE(eventually([&] { return model.stats()["in_flight"] == 1; }, 2s));
    }
    const auto left = clock_type::now();
    ASSERT_TRUE(eventually([&] { return model.stats()["hang_ups_seen"] == 1; }, 2s));
    EXPECT_LT(clock_type::now() - left, 1s);
    EXPECT_EQ(model.stats()["in_flight"], 0);

    {
        // Mid-stream, between slow chunks.
        RawConnection raw(gateway.port());
        const auto body = chat_body("fake-model", true).dump();
        ASSERT_TRUE(raw.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-fake-chunk-interval-ms: 3000\r\n"
            "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body));
        ASSERT_FALSE(raw.read_some(2s).empty());
    }
    const auto left_stream = clock_type::now();
    ASSERT_TRUE(eventually([&] { return model.stats()["hang_ups_seen"] == 2; }, 2s));
    EXPECT_LT(clock_type::now() - left_stream, 1s);
    EXPECT_TRUE(
        eventually([&] { return admin_backends(gateway)["backends"][0]["in_flight"] == 0; }, 1s));
}

TEST(Resilience, TheConcurrencyLimitGivesFast503s) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({model.url()}) + "    circuit_breaker: { max_concurrent: 2 }\n"));
    std::vector<std::future<int>> slow;
    for (int i = 0; i < 2; ++i)
        slow.push_back(std::async(std::launch::async, [&] {
            return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "1500"}})
                .status;
        }));
    ASSERT_TRUE(
        eventually([&] { return admin_backends(gateway)["backends"][0]["in_flight"] == 2; }, 2s));
    const auto started = clock_type::now();
    const auto refused = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.json()["error"]["code"], "backend_overloaded");
    EXPECT_EQ(refused.header("retry-after"), "1");
    EXPECT_LT(clock_type::now() - started, 300ms);
    for (auto& f : slow) EXPECT_EQ(f.get(), 200);
}

TEST(Resilience, LeastRequestPrefersTheIdleEndpoint) {
    auto busy = FakeModel::start("busy");
    auto idle = FakeModel::start("idle");
    auto gateway = RunningGateway::start(
        one_route(endpoint_list({busy.url(), idle.url()}) + "    balancer: least_request\n"));
    // Three long requests split two and one: the endpoint with one is the less loaded. Long
    // enough that the ten short requests below end before them on a loaded machine.
    std::vector<std::future<int>> long_requests;
    for (int i = 0; i < 3; ++i)
        long_requests.push_back(std::async(std::launch::async, [&] {
            return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "8000"}})
                .status;
        }));
    // Up to 5 s for three threads' requests to be in flight on a loaded machine (a CI run
    // with other tests beside it), still well before the 8 s answers end.
    ASSERT_TRUE(
        eventually([&] { return admin_backends(gateway)["backends"][0]["in_flight"] == 3; }, 5s));
    const auto endpoints = admin_backends(gateway)["backends"][0]["endpoints"];
    const int busy_load = endpoints[0]["in_flight"].get<int>();
    const int idle_load = endpoints[1]["in_flight"].get<int>();
    ASSERT_EQ(busy_load + idle_load, 3);
    const auto less_loaded = busy_load < idle_load ? std::string("busy") : std::string("idle");
    for (int i = 0; i < 10; ++i) EXPECT_EQ(post_to(gateway), less_loaded);
    for (auto& f : long_requests) EXPECT_EQ(f.get(), 200);
}

// The endpoint's request count drops when its answer has been read, before the client has
// it: a client that sends its next request at once (or the admin API asked right after) must
// never find the finished request still counted, which least_request would take for load.
TEST(Resilience, AnAnswerReceivedIsNoLongerCountedInFlight) {
    auto model = FakeModel::start("model");
    auto gateway = RunningGateway::start(one_route(endpoint_list({model.url()})));
    for (int i = 0; i < 40; ++i) {
        ASSERT_EQ(post_to(gateway), "model");
        const auto backend = admin_backends(gateway)["backends"][0];
        ASSERT_EQ(backend["in_flight"], 0) << "after answer " << i;
        ASSERT_EQ(backend["endpoints"][0]["in_flight"], 0) << "after answer " << i;
    }
}

TEST(Resilience, TwoHundredConcurrentSlowRequestsAreAllServed) {
    auto a = FakeModel::start("a", {"--threads", "2"});
    auto b = FakeModel::start("b", {"--threads", "2"});
    auto gateway = RunningGateway::start(one_route(endpoint_list({a.url(), b.url()})));
    std::vector<std::future<int>> requests;
    for (int i = 0; i < 200; ++i)
        requests.push_back(std::async(std::launch::async, [&] {
            return gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "500"}})
                .status;
        }));
    int ok = 0;
    for (auto& f : requests) ok += f.get() == 200;
    EXPECT_EQ(ok, 200);
}

TEST(Resilience, AnUnretryable503IsTheUpstreamsOwnAnswer) {
    auto only = FakeModel::start("only");
    ASSERT_EQ(http_request(only.port(), {"POST", "/fake/status/503"}).status, 200);
    auto gateway =
        RunningGateway::start(one_route(endpoint_list({only.url()}) +
                                        "    retries: { attempts: 2, on: [503] }\n"
                                        "    circuit_breaker: { failure_threshold: 1000 }\n"));
    const auto response = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.json()["error"]["type"], "fake_error");  // not replaced by the gateway's
    EXPECT_EQ(response.header("x-fake-server"), "only");
}
