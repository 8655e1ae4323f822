// Helpers of the engine-aware and affinity integration tests: test controls of the fake model
// server, the gateway's metrics, and where a run of requests went.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "harness.hpp"

namespace llmgw::testing {

// A backend `pool` of endpoints a and b with `extra` fields, and a route to it.
inline std::string two_endpoint_backend(const FakeModel& a, const FakeModel& b,
                                        const std::string& extra) {
    return "backends:\n  pool:\n    endpoints:\n      - url: \"" + a.url() + "\"\n      - url: \"" +
           b.url() + "\"\n" + extra + "routes:\n  - { name: chat, backend: pool }\n";
}

// engine_aware on vLLM's metrics, scraped every 200 ms.
inline const std::string engine_aware =
    "    balancer: engine_aware\n"
    "    engine: vllm\n"
    "    engine_metrics: { interval: 200ms, timeout: 300ms, stale_after: 1s }\n";

// POSTs a test control (/fake/engine/...) to a fake model server.
inline void control(const FakeModel& model, const std::string& path) {
    ASSERT_EQ(http_request(model.port(), {"POST", path}).status, 200) << path;
}

// The value of the gateway's sample `name` whose labels contain `label`; -1e9 when absent.
inline double gateway_metric(const RunningGateway& gateway, const std::string& name,
                             const std::string& label) {
    std::istringstream lines(http_request(gateway.admin_port(), {"GET", "/metrics"}).body);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with(name + "{") || line.find(label) == std::string::npos) continue;
        return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1e9;
}

// The gateway's requests in flight over both endpoints.
inline int in_flight(const RunningGateway& gateway) {
    std::istringstream lines(http_request(gateway.admin_port(), {"GET", "/metrics"}).body);
    double total = 0;
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("llmgw_endpoint_in_flight{"))
            total += std::stod(line.substr(line.rfind(' ') + 1));
    return static_cast<int>(total);
}

// Sends `n` requests one after another; how many each fake server answered.
inline std::map<std::string, int> spread(const RunningGateway& gateway, int n,
                                         const nlohmann::json& body = chat_body()) {
    std::map<std::string, int> count;
    for (int i = 0; i < n; ++i) {
        const auto response = gateway.post("/v1/chat/completions", body);
        EXPECT_EQ(response.status, 200) << response.body;
        ++count[response.header("x-fake-server")];
    }
    return count;
}

// How many times the fake server's /metrics was read (by the gateway's scraper).
inline int metrics_reads(const FakeModel& model) {
    const auto by_path = model.stats()["by_path"];
    return by_path.contains("/metrics") ? by_path["/metrics"].get<int>() : 0;
}

// Waits until `model`'s /metrics has been read twice more: a whole scrape began after now.
inline bool scraped_again(const FakeModel& model) {
    const auto before = metrics_reads(model);
    return eventually([&] { return metrics_reads(model) >= before + 2; });
}

}  // namespace llmgw::testing
