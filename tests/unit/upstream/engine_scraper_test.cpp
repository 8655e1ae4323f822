// Where the scraper reads an endpoint's metrics: its own port, or engine_metrics.port.
#include "llmgw/upstream/engine_scraper.hpp"

#include <gtest/gtest.h>

using llmgw::config::Endpoint;
using llmgw::config::EngineMetricsConfig;
using llmgw::upstream::metrics_endpoint;

namespace {

Endpoint endpoint(std::string host, std::uint16_t port, bool tls) {
    Endpoint out;
    out.url = std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
    out.host = std::move(host);
    out.port = port;
    out.tls = tls;
    return out;
}

TEST(EngineScraper, WithoutAPortTheEndpointItselfIsScraped) {
    const auto target = metrics_endpoint(endpoint("10.0.0.1", 8000, false), EngineMetricsConfig{});
    EXPECT_EQ(target.host, "10.0.0.1");
    EXPECT_EQ(target.port, 8000);
    EXPECT_FALSE(target.tls);
    EXPECT_EQ(target.url, "http://10.0.0.1:8000/metrics");
}

TEST(EngineScraper, APortReadsThatPortOfTheSameHostWithTheSameScheme) {
    EngineMetricsConfig triton;
    triton.port = 8002;
    const auto plain = metrics_endpoint(endpoint("triton-0.internal", 8000, false), triton);
    EXPECT_EQ(plain.host, "triton-0.internal");
    EXPECT_EQ(plain.port, 8002);
    EXPECT_EQ(plain.url, "http://triton-0.internal:8002/metrics");

    triton.path = "/stats/metrics";
    const auto secure = metrics_endpoint(endpoint("fd00::5", 443, true), triton);
    EXPECT_TRUE(secure.tls);
    EXPECT_EQ(secure.port, 8002);
    EXPECT_EQ(secure.url, "https://[fd00::5]:8002/stats/metrics");
}

}  // namespace
