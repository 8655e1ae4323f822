// Traces exported to an https:// collector: verified against tracing.tls.ca_file, and never
// sent to a collector whose certificate the configured CA did not sign. The collector is the
// fake model server over TLS, which records what was posted to it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace llmgw::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TracingTls : public ::testing::Test {
protected:
    TracingTls() : pki(make_test_pki(dir)) {}

    FakeModel https_collector() const {
        return FakeModel::start("collector",
                                {"--tls-cert", pki.server_cert, "--tls-key", pki.server_key});
    }
    static std::string tracing_to(const FakeModel& collector, const std::string& ca_file) {
        return "tracing:\n  endpoint: \"https://127.0.0.1:" + std::to_string(collector.port()) +
               "/v1/traces\"\n  flush_interval: 50ms\n  timeout: 2s\n  tls: { ca_file: \"" +
               ca_file + "\" }\n";
    }
    static int posted_traces(const FakeModel& collector) {
        const auto stats = collector.stats();
        const auto& by_path = stats["by_path"];
        return by_path.contains("/v1/traces") ? by_path["/v1/traces"].get<int>() : 0;
    }

    TempDir dir;
    TestPki pki;
};

TEST_F(TracingTls, SpansGoToAnHttpsCollectorVerifiedAgainstTheConfiguredCa) {
    auto model = FakeModel::start("m1");
    auto collector = https_collector();
    auto gateway = RunningGateway::start(tracing_to(collector, pki.ca_cert) +
                                         backend_and_route(model));
    const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    const auto answer = gateway.post("/v1/chat/completions", chat_body(),
                                     {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"}});
    ASSERT_EQ(answer.status, 200);
    ASSERT_TRUE(eventually([&] { return posted_traces(collector) >= 1; }, 5s));
    const auto stats = collector.stats();
    EXPECT_GE(stats["tls_handshakes"].get<int>(), 1);
    const auto& posted = stats["last_request"];
    EXPECT_EQ(posted["method"], "POST");
    EXPECT_EQ(posted["headers"]["content-type"], "application/x-protobuf");
    // The ids are raw bytes in protobuf (the collector's echo of the body replaces what is
    // not UTF-8); the span's url.path is text: the request's spans went over TLS.
    EXPECT_THAT(posted["body"].get<std::string>(), HasSubstr("/v1/chat/completions"));
}

TEST_F(TracingTls, ACollectorTheCaDidNotSignGetsNothing) {
    auto model = FakeModel::start("m1");
    auto collector = https_collector();
    auto gateway = RunningGateway::start(tracing_to(collector, pki.other_ca_cert) +
                                         backend_and_route(model));
    ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body(),
                           {{"traceparent",
                             "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01"}})
                  .status,
              200);
    // The handshake fails (the gateway refuses the certificate), so nothing is posted; after
    // its retries the batch is dropped and counted.
    ASSERT_TRUE(eventually([&] { return collector.stats()["tls_handshake_failures"] >= 1; }, 5s));
    EXPECT_TRUE(eventually(
        [&] {
            return metric_value(metrics_of(gateway),
                                "llmgw_trace_spans_dropped_total{reason=\"export_failed\"}") >= 1;
        },
        10s));
    EXPECT_EQ(posted_traces(collector), 0);
}

}  // namespace
}  // namespace llmgw::testing
