// Memory each held SSE stream costs the real binary (issue 17), measured as bench/run.sh
// compares it with nginx: llmgw-bench-client holds the streams open, and the figure is llmgw's
// VmRSS once every stream has its first event, less its RSS before, per stream.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "bench_client_binary.hpp"
#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr int kStreams = 1000;

// VmRSS of `pid` in KiB (0 when unreadable).
long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return 0;
}

}  // namespace

// A stream waiting for its model's next token keeps its connections, its request's state and
// the relay's, but no buffer sized for a large read (the relay's was 16 KiB in its coroutine
// frame), no parsed request body, no heads already sent, no emptied read buffer, no watchdog
// coroutine. On the bench (bench/stream_memory.sh, 2,000 streams) that took llmgw from 25.5
// KiB per stream to 16.0; nginx with proxy_buffering off needs 17.7. 16.2 here, with 1,000.
TEST(StreamMemory, AHeldStreamCostsLessThanNginxsSeventeenAndAHalfKibibytes) {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer's redzones and quarantine are most of any allocation's memory.
    GTEST_SKIP() << "memory per stream is measured without a sanitizer";
#endif
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    ASSERT_GE(limit.rlim_cur, rlim_t{2 * kStreams + 200}) << "the open-file hard limit is too low";
    ASSERT_TRUE(std::filesystem::exists(bench_client_binary())) << bench_client_binary();

    auto model = FakeModel::start("memory");
    GatewayOptions options;
    options.workers = 1;
    options.access_log = "off";
    auto gateway = RunningGateway::start(backend_and_route(model), options);
    // What the first request allocates once (pools, metric series) is not counted per stream.
    const auto warm = http_stream(gateway.port(), {"POST",
                                                   "/v1/chat/completions",
                                                   {{"content-type", "application/json"},
                                                    {"x-fake-chunks", "2"},
                                                    {"x-fake-chunk-interval-ms", "1"}},
                                                   chat_body("fake-model", true).dump()});
    ASSERT_TRUE(warm.complete) << warm.error;
    const auto pid = gateway.process().pid();
    const long before = rss_kib(pid);

    auto client = Process::start(
        bench_client_binary(),
        {"streams", "--target", "127.0.0.1:" + std::to_string(gateway.port()), "--body",
         chat_body("fake-model", true).dump(), "--streams", std::to_string(kStreams), "--header",
         "x-fake-chunks: 2", "--header", "x-fake-chunk-interval-ms: 10", "--header",
         "x-fake-hold-ms: 20000", "--timeout", "60"});
    ASSERT_TRUE(client.wait_for_output("OPEN ", 60s)) << client.stdout_text() << client.stderr_text();
    const long after = rss_kib(pid);
    const auto open_line = client.stdout_text();
    client.signal(SIGKILL);
    ASSERT_NE(open_line.find("opened=" + std::to_string(kStreams) + " failed=0 finished=0"),
              std::string::npos)
        << open_line;
    const double per_stream = static_cast<double>(after - before) / kStreams;
    std::cout << "RSS per held stream: " << per_stream << " KiB (" << before << " KiB before, "
              << after << " KiB with " << kStreams << " streams open)\n";
    EXPECT_LT(per_stream, 17.5);
}
