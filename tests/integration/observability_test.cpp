// Metrics (checked with promtool), the access log, and the admin listener's endpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {


}  // namespace

TEST(Observability, MetricsPassPromtoolAndCountRequestsByRouteBackendAndCode) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(backend_and_route(model));
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
    ASSERT_EQ(http_request(gateway.port(), {"GET", "/nowhere"}).status, 404);
    // A request is counted right after its answer is written: the log line comes last.
    ASSERT_TRUE(gateway.wait_for_access_lines(4, 5s));

    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"});
    ASSERT_EQ(metrics.status, 200);
    EXPECT_THAT(metrics.header("content-type"), HasSubstr("text/plain"));
    EXPECT_THAT(
        metrics.body,
        HasSubstr(
            R"(llmgw_requests_total{backend="vllm",code="200",route="chat",tier="anonymous"} 3)"));
    EXPECT_THAT(
        metrics.body,
        HasSubstr(R"(llmgw_requests_total{backend="",code="404",route="",tier="anonymous"} 1)"));
    EXPECT_THAT(metrics.body, HasSubstr(R"(llmgw_request_duration_seconds_count{route="chat"} 3)"));
    EXPECT_THAT(metrics.body, HasSubstr("llmgw_requests_in_flight 0"));
    EXPECT_THAT(metrics.body,
                HasSubstr(R"(llmgw_upstream_first_byte_seconds_count{backend="vllm"} 3)"));

    TempDir dir;
    const auto file = dir.write("metrics.txt", metrics.body);
    std::string out, err;
    EXPECT_EQ(run_to_exit("/bin/sh", {"-c", "promtool check metrics < " + file}, 20s, &out, &err),
              0)
        << out << err;
}

TEST(Observability, EveryRequestWritesOneJsonAccessLogLine) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(backend_and_route(model));
    ASSERT_EQ(gateway
                  .post("/v1/chat/completions?api_key=leaky", chat_body(),
                        {{"x-request-id", "req-1"}, {"authorization", "Bearer sk-secret-1"}})
                  .status,
              200);
    ASSERT_EQ(http_request(gateway.port(), {"GET", "/elsewhere"}).status, 404);
    ASSERT_TRUE(gateway.wait_for_access_lines(2, 5s));
    ASSERT_EQ(gateway.access_log_lines().size(), 2u);
    const auto ok = gateway.access_line_where("status", 200);
    const auto missing = gateway.access_line_where("status", 404);
    EXPECT_EQ(ok["request_id"], "req-1");
    EXPECT_EQ(ok["method"], "POST");
    EXPECT_EQ(ok["path"], "/v1/chat/completions");  // the query is not logged
    EXPECT_EQ(ok["route"], "chat");
    EXPECT_EQ(ok["backend"], "vllm");
    EXPECT_EQ(ok["endpoint"], model.url());
    EXPECT_EQ(ok["status"], 200);
    EXPECT_EQ(ok["client"], "127.0.0.1");
    EXPECT_GT(ok["bytes_in"].get<int>(), 0);
    EXPECT_GT(ok["bytes_out"].get<int>(), 0);
    EXPECT_GE(ok["duration_ms"].get<double>(), ok["upstream_first_byte_ms"].get<double>());
    EXPECT_EQ(ok["error"], "");
    EXPECT_THAT(ok["time"].get<std::string>(),
                testing::MatchesRegex(
                    R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"));
    EXPECT_EQ(missing["error"], "route_not_found");

    // Secrets sent by the client appear nowhere in the gateway's output.
    const auto everything = gateway.process().stdout_text() + gateway.process().stderr_text();
    EXPECT_THAT(everything, testing::Not(HasSubstr("sk-secret-1")));
    EXPECT_THAT(everything, testing::Not(HasSubstr("leaky")));
}

TEST(Observability, HealthAndReadinessProbes) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(backend_and_route(model));
    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/healthz"}).status, 200);
    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/readyz"}).status, 200);
    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/nothing"}).status, 404);
}

TEST(Observability, AdminPathsNeedTheAdminTokenWhenOneIsSet) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.admin_extra = "  token: ${LLMGW_TEST_ADMIN_TOKEN}\n";
    options.env = {{"LLMGW_TEST_ADMIN_TOKEN", "admin-secret-7"}};
    auto gateway = RunningGateway::start(backend_and_route(model), options);
    const auto without = http_request(gateway.admin_port(), {"GET", "/admin/backends"});
    EXPECT_EQ(without.status, 401);
    EXPECT_EQ(without.header("www-authenticate"), "Bearer");
    EXPECT_EQ(http_request(gateway.admin_port(),
                           {"GET", "/admin/backends", {{"authorization", "Bearer wrong"}}})
                  .status,
              401);
    EXPECT_EQ(http_request(gateway.admin_port(),
                           {"GET", "/admin/backends", {{"authorization", "Bearer admin-secret-7"}}})
                  .status,
              200);
    EXPECT_EQ(http_request(gateway.admin_port(),
                           {"GET", "/admin/nothing", {{"authorization", "Bearer admin-secret-7"}}})
                  .status,
              404);
    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/metrics"}).status,
              200);  // probes and metrics stay open
    EXPECT_THAT(gateway.process().stderr_text(), testing::Not(HasSubstr("admin-secret-7")));
}

// The gateway's own time excludes what it waits for: a model that takes 300 ms to its first
// byte, or streams 10 events 30 ms apart, adds none of that to overhead_us, while each request
// lasts over 250 ms; the histogram counts every request that reached the pipeline's body read.
TEST(Observability, TheGatewaysOwnTimeLeavesOutTheWaitsOnTheModel) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(backend_and_route(model));
    ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "300"}}).status, 200);
    const auto streamed = http_stream(gateway.port(),
                                      {"POST", "/v1/chat/completions",
                                       {{"content-type", "application/json"},
                                        {"x-fake-chunks", "10"},
                                        {"x-fake-chunk-interval-ms", "30"}},
                                       chat_body("fake-model", true).dump()},
                                      10s);
    ASSERT_EQ(streamed.status, 200);
    ASSERT_TRUE(gateway.wait_for_access_lines(2, 5s));
    for (const auto& line : gateway.access_log_lines()) {
        ASSERT_TRUE(line.contains("overhead_us")) << line.dump();
        const double overhead_ms = line["overhead_us"].get<double>() / 1000;
        EXPECT_GT(overhead_ms, 0);
        EXPECT_GT(line["duration_ms"].get<double>(), 250) << line.dump();
        EXPECT_LT(overhead_ms, 100) << line.dump();
    }
    EXPECT_EQ(metric_value(metrics_of(gateway), "llmgw_gateway_overhead_seconds_count"), 2);
}

// Nor does a client that is slow to take its answer count: a 6 MiB echo to a client whose
// receive buffer is 4 KiB and that reads only after 1.5 s leaves the gateway's writes waiting
// for room most of that time: the request's own time is under half of its duration (about 5 %
// measured; counting the waits, about 70 %).
TEST(Observability, TheGatewaysOwnTimeLeavesOutTheWaitsOnASlowClient) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(backend_and_route(model));
    const std::string body(6 * 1024 * 1024, 'q');
    const int fd = send_with_small_window(gateway.port(), 4096, echo_request(body));
    ASSERT_GE(fd, 0);
    std::this_thread::sleep_for(1500ms);  // the slow client: the scenario, not a wait on the gateway
    std::size_t received = 0;
    char piece[4096];
    for (ssize_t n; (n = ::recv(fd, piece, sizeof piece, 0)) > 0;) received += static_cast<std::size_t>(n);
    ::close(fd);
    EXPECT_GT(received, body.size());
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    const auto line = gateway.access_log_lines().back();
    EXPECT_EQ(line["status"], 200) << line.dump();
    const double duration_ms = line["duration_ms"].get<double>();
    EXPECT_GT(duration_ms, 1500) << line.dump();
    ASSERT_TRUE(line.contains("overhead_us")) << line.dump();
    EXPECT_LT(line["overhead_us"].get<double>() / 1000, duration_ms / 2) << line.dump();
}
