// A real OTLP/HTTP receiver for tests: an HTTP server on a free loopback port that takes
// POST /v1/traces with a protobuf body (application/x-protobuf), as a collector does, keeps
// the requests decoded into OTLP's JSON shape (support/otlp_decode.hpp) and answers 200 (or
// the statuses a test asks for, to exercise the exporter's retries).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace llmgw::testing {

class OtlpReceiver {
public:
    OtlpReceiver();
    ~OtlpReceiver();
    OtlpReceiver(const OtlpReceiver&) = delete;
    OtlpReceiver& operator=(const OtlpReceiver&) = delete;

    uint16_t port() const;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1/traces"; }

    // The next `count` export requests are answered `status` (and not kept).
    void answer_next(int count, int status);
    // Every export request answered `status` from now on (0: back to 200).
    void answer_always(int status);

    // What was received and accepted: each span with its resource's service.name added
    // as "service.name" (a test's view, flattened).
    std::vector<nlohmann::json> spans() const;
    // The spans of one trace (hex id).
    std::vector<nlohmann::json> trace(const std::string& trace_id) const;
    // Export requests that arrived (answered 200 or not).
    std::size_t requests() const;
    // Export requests whose body did not decode (answered 400).
    std::size_t malformed() const;
    // The accepted bodies as they came (for a check by another decoder).
    std::vector<std::string> raw_bodies() const;
    // The headers of the last export request, names lower-cased.
    std::map<std::string, std::string> last_headers() const;
    std::string last_content_type() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

// The value object of `key` in an OTLP attribute list (null when absent).
nlohmann::json otlp_attribute(const nlohmann::json& span, const std::string& key);

}  // namespace llmgw::testing
