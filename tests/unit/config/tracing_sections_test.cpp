// The tracing section: the collector URL and its path, sampling, headers, bounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/config/config_json.hpp"
#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::load_string;
using llmgw::config::testing::load_error;
using testing::HasSubstr;

namespace {

std::string with_tracing(const std::string& tracing) {
    return "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
           "routes: [ { name: r, backend: b } ]\n"
           "tracing:\n" +
           tracing;
}

TEST(TracingSections, WithoutTheSectionNothingIsTraced) {
    EXPECT_FALSE(load_string("backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
                             "routes: [ { name: r, backend: b } ]\n")
                     .tracing);
}

TEST(TracingSections, ReadsTheContractsFieldsAndDefaults) {
    const auto config = load_string(
        with_tracing("  endpoint: \"http://otel-collector:4318/v1/traces\"\n  sample_ratio: 0.05\n"
                     "  service_name: gw\n  headers: { Authorization: \"Bearer t\" }\n"));
    ASSERT_TRUE(config.tracing);
    const auto& tracing = *config.tracing;
    EXPECT_EQ(tracing.collector.host, "otel-collector");
    EXPECT_EQ(tracing.collector.port, 4318);
    EXPECT_FALSE(tracing.collector.tls);
    EXPECT_EQ(tracing.path, "/v1/traces");
    EXPECT_DOUBLE_EQ(tracing.sample_ratio, 0.05);
    EXPECT_EQ(tracing.service_name, "gw");
    ASSERT_EQ(tracing.headers.size(), 1u);
    EXPECT_EQ(tracing.headers[0].first, "authorization");
    EXPECT_EQ(tracing.batch_size, 512u);
    EXPECT_EQ(tracing.max_queue, 4096u);
    EXPECT_EQ(tracing.flush_interval, 1s);
    // The collector's credentials are never shown.
    const auto shown = llmgw::config::to_redacted_json(config).dump();
    EXPECT_THAT(shown, testing::Not(HasSubstr("Bearer t")));
}

TEST(TracingSections, AnHttpsEndpointWithoutAPathUsesTheOtlpPath) {
    const auto config = load_string(with_tracing("  endpoint: \"https://collector.example\"\n"));
    EXPECT_TRUE(config.tracing->collector.tls);
    EXPECT_EQ(config.tracing->collector.port, 443);
    EXPECT_EQ(config.tracing->path, "/v1/traces");
    EXPECT_DOUBLE_EQ(config.tracing->sample_ratio, 1.0);
}

TEST(TracingSections, RefusesBadValuesNamingTheKey) {
    EXPECT_THAT(load_error(with_tracing("  sample_ratio: 0.5\n")), HasSubstr("endpoint"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"udp://x:1\"\n")),
                HasSubstr("tracing.endpoint"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"http://x:1\"\n  sample_ratio: 2\n")),
                HasSubstr("tracing.sample_ratio"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"http://x:1\"\n  sample_ratio: lots\n")),
                HasSubstr("expected a number from 0 to 1"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"http://x:1\"\n  tls: { verify: false }\n")),
                HasSubstr("https://"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"http://x:1\"\n  max_queue: 10\n")),
                HasSubstr("batch_size"));
    EXPECT_THAT(load_error(with_tracing("  endpoint: \"http://x:1\"\n  colour: red\n")),
                HasSubstr("colour"));
}

}  // namespace
