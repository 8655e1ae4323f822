// The per-request histograms (duration, time to first byte, overhead), counted per thread
// without a lock (sharded_histogram.hpp): a scrape adds up every thread's counts exactly, in
// the buckets Prometheus expects (cumulative, le="+Inf" last), and a second metrics object on
// the same threads (a reload) counts into its own.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "llmgw/observability/access_record.hpp"
#include "llmgw/observability/metrics.hpp"

using llmgw::observability::AccessRecord;
using llmgw::observability::Metrics;
using namespace std::chrono_literals;

namespace {

// The line of `text` that starts with `series` followed by a space: its value.
std::string sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return "missing";
    const auto start = at + series.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
}

AccessRecord record(std::chrono::steady_clock::duration duration) {
    AccessRecord r;
    r.route = "chat";
    r.backend = "vllm";
    r.tier = "free";
    r.status = 200;
    r.duration = duration;
    r.upstream_first_byte = duration / 2;
    r.overhead = 20us;
    return r;
}

}  // namespace

TEST(RequestHistograms, EveryThreadsObservationsAreAddedUpInCumulativeBuckets) {
    Metrics metrics;
    constexpr int per_thread = 1000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&metrics, t] {
            // Thread t: half its requests at 3 ms, half at 200 ms (t+1 ms off, within the buckets).
            for (int i = 0; i < per_thread; ++i) {
                metrics.request_started();
                metrics.request_finished(record(i % 2 == 0 ? 3ms : 200ms + std::chrono::microseconds(t)));
            }
        });
    for (auto& thread : threads) thread.join();

    const auto text = metrics.serialize();
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_count{route="chat"})"), "4000");
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_bucket{route="chat",le="0.0025"})"), "0");
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_bucket{route="chat",le="0.005"})"), "2000");
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_bucket{route="chat",le="0.1"})"), "2000");
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_bucket{route="chat",le="0.25"})"), "4000");
    EXPECT_EQ(sample(text, R"(llmgw_request_duration_seconds_bucket{route="chat",le="+Inf"})"), "4000");
    EXPECT_NEAR(std::stod(sample(text, R"(llmgw_request_duration_seconds_sum{route="chat"})")),
                2000 * 0.003 + 2000 * 0.2, 0.01);
    EXPECT_EQ(sample(text, R"(llmgw_upstream_first_byte_seconds_count{backend="vllm"})"), "4000");
    EXPECT_EQ(sample(text, R"(llmgw_upstream_first_byte_seconds_bucket{backend="vllm",le="0.001"})"), "0");
    EXPECT_EQ(sample(text, R"(llmgw_upstream_first_byte_seconds_bucket{backend="vllm",le="0.0025"})"), "2000");
    EXPECT_EQ(sample(text, "llmgw_gateway_overhead_seconds_count"), "4000");
    EXPECT_EQ(sample(text, R"(llmgw_gateway_overhead_seconds_bucket{le="1e-05"})"), "0");
    EXPECT_EQ(sample(text, R"(llmgw_gateway_overhead_seconds_bucket{le="2.5e-05"})"), "4000");
    EXPECT_EQ(sample(text, "llmgw_requests_in_flight"), "0");
}

TEST(RequestHistograms, ASecondMetricsObjectOnTheSameThreadCountsIntoItsOwn) {
    Metrics first;
    first.request_finished(record(3ms));
    {
        Metrics second;  // a reload's: the thread's kept shards are the first object's
        second.request_finished(record(3ms));
        second.request_finished(record(3ms));
        EXPECT_EQ(sample(second.serialize(), R"(llmgw_request_duration_seconds_count{route="chat"})"), "2");
        EXPECT_EQ(sample(second.serialize(), "llmgw_gateway_overhead_seconds_count"), "2");
    }
    first.request_finished(record(3ms));
    EXPECT_EQ(sample(first.serialize(), R"(llmgw_request_duration_seconds_count{route="chat"})"), "2");
    EXPECT_EQ(sample(first.serialize(), "llmgw_gateway_overhead_seconds_count"), "2");
}
