// OpenTelemetry traces end to end: the real llmgw exports to a real OTLP/HTTP receiver, and
// the span tree of a streamed, retried request is checked field by field; then sampling,
// the collector's retries, drops, and a reload of the tracing section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "support/otlp_receiver.hpp"
#include "support/ports.hpp"
#include "support/redis_server.hpp"

namespace llmgw::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::string tracing_section(const OtlpReceiver& receiver, const std::string& extra = "") {
    return "tracing:\n  endpoint: \"" + receiver.url() +
           "\"\n  flush_interval: 50ms\n  service_name: llmgw-test\n" + extra;
}

std::string one_backend(const FakeModel& model) {
    return backend_and_route(model);
}

// A traceparent of a sampled (or not) client span, its trace id numbered `n`.
std::string client_traceparent(int n, bool sampled = true) {
    char trace[33];
    std::snprintf(trace, sizeof trace, "%032x", 0xabc000 + n);
    return std::string("00-") + trace + "-b7ad6b7169203331-" + (sampled ? "01" : "00");
}
std::string trace_of(const std::string& traceparent) {
    return traceparent.substr(3, 32);
}

HttpResponse chat(const RunningGateway& gateway, const std::string& traceparent,
                  bool stream = false) {
    HttpHeaders headers;
    if (!traceparent.empty()) headers.emplace_back("traceparent", traceparent);
    return gateway.post("/v1/chat/completions", chat_body("fake-model", stream), headers);
}

const nlohmann::json* span_of_kind(const std::vector<nlohmann::json>& spans, int kind,
                                   int nth = 0) {
    for (const auto& span : spans)
        if (span["kind"] == kind && nth-- == 0) return &span;
    return nullptr;
}

TEST(Tracing, AStreamedRetriedRequestIsOneTraceWithASpanPerAttempt) {
    OtlpReceiver receiver;
    auto model = FakeModel::start("m1");
    const auto dead = free_port();  // nothing listens: the first attempt there fails
    auto gateway = RunningGateway::start(
        "backends:\n  vllm:\n    endpoints: [ { url: \"http://127.0.0.1:" + std::to_string(dead) +
            "\" }, { url: \"" + model.url() +
            "\" } ]\n    retries: { attempts: 1, on: [connect_failure] }\n"
            "routes:\n  - { name: chat, backend: vllm, match: { path_prefix: /v1/ } }\n" +
            tracing_section(receiver, "  headers: { authorization: \"Bearer otlp-secret\" }\n"),
        {.workers = 1});
    // Round robin: one of two requests starts at the dead endpoint.
    std::string traceparent;
    for (int n = 0; n < 2; ++n) {
        const auto candidate = client_traceparent(n);
        const auto response = chat(gateway, candidate, /*stream=*/true);
        ASSERT_EQ(response.status, 200) << response.body;
        ASSERT_TRUE(gateway.wait_for_access_lines(n + 1, 5s));
        if (gateway.access_line_where("trace_id", trace_of(candidate))["attempts"] == 2)
            traceparent = candidate;
    }
    ASSERT_FALSE(traceparent.empty()) << "no request was retried";
    const auto trace_id = trace_of(traceparent);
    ASSERT_TRUE(eventually([&] { return receiver.trace(trace_id).size() == 3; }, 5s))
        << receiver.trace(trace_id).size();
    const auto spans = receiver.trace(trace_id);

    const auto& server = *span_of_kind(spans, 2);
    EXPECT_EQ(server["service.name"], "llmgw-test");
    EXPECT_EQ(server["parentSpanId"], "b7ad6b7169203331");  // the client's span
    EXPECT_EQ(server["name"], "POST chat");
    EXPECT_EQ(otlp_attribute(server, "http.request.method")["stringValue"], "POST");
    EXPECT_EQ(otlp_attribute(server, "url.path")["stringValue"], "/v1/chat/completions");
    EXPECT_EQ(otlp_attribute(server, "http.response.status_code")["intValue"], "200");
    EXPECT_EQ(otlp_attribute(server, "llmgw.route")["stringValue"], "chat");
    EXPECT_EQ(otlp_attribute(server, "llmgw.backend")["stringValue"], "vllm");
    EXPECT_EQ(server["status"]["code"], 0);

    const auto& first = *span_of_kind(spans, 3, 0);
    const auto& second = *span_of_kind(spans, 3, 1);
    for (const auto* attempt : {&first, &second}) {
        EXPECT_EQ((*attempt)["parentSpanId"], server["spanId"]);
        EXPECT_EQ((*attempt)["name"], "chat fake-model");
        EXPECT_EQ(otlp_attribute(*attempt, "gen_ai.operation.name")["stringValue"], "chat");
        EXPECT_EQ(otlp_attribute(*attempt, "gen_ai.provider.name")["stringValue"], "openai");
        EXPECT_EQ(otlp_attribute(*attempt, "gen_ai.request.model")["stringValue"], "fake-model");
        EXPECT_EQ(otlp_attribute(*attempt, "gen_ai.request.stream")["boolValue"], true);
        EXPECT_EQ(otlp_attribute(*attempt, "server.address")["stringValue"], "127.0.0.1");
    }
    EXPECT_NE(first["spanId"], second["spanId"]);
    EXPECT_EQ(otlp_attribute(first, "server.port")["intValue"], std::to_string(dead));
    EXPECT_EQ(otlp_attribute(first, "http.request.resend_count")["intValue"], "0");
    EXPECT_EQ(otlp_attribute(first, "error.type")["stringValue"], "connect");
    EXPECT_EQ(first["status"]["code"], 2);
    EXPECT_FALSE(first.contains("events"));

    EXPECT_EQ(otlp_attribute(second, "server.port")["intValue"], std::to_string(model.port()));
    EXPECT_EQ(otlp_attribute(second, "http.request.resend_count")["intValue"], "1");
    EXPECT_EQ(otlp_attribute(second, "http.response.status_code")["intValue"], "200");
    EXPECT_TRUE(otlp_attribute(second, "error.type").is_null());
    EXPECT_EQ(otlp_attribute(second, "gen_ai.response.model")["stringValue"], "fake-model");
    EXPECT_EQ(
        otlp_attribute(second,
                       "gen_ai.response.finish_reasons")["arrayValue"]["values"][0]["stringValue"],
        "stop");
    EXPECT_NE(otlp_attribute(second, "gen_ai.usage.input_tokens"), nullptr);
    EXPECT_NE(otlp_attribute(second, "gen_ai.usage.output_tokens"), nullptr);
    ASSERT_TRUE(second.contains("events"));
    const auto& first_token = second["events"][0];
    EXPECT_EQ(first_token["name"], "llmgw.first_token");
    const auto at = std::stoull(first_token["timeUnixNano"].get<std::string>());
    EXPECT_GE(at, std::stoull(second["startTimeUnixNano"].get<std::string>()));
    EXPECT_LE(at, std::stoull(second["endTimeUnixNano"].get<std::string>()));
    EXPECT_GE(std::stoull(first["endTimeUnixNano"].get<std::string>()),
              std::stoull(server["startTimeUnixNano"].get<std::string>()));

    // The model server saw the second attempt's span as its parent.
    EXPECT_EQ(model.stats()["last_request"]["headers"]["traceparent"],
              "00-" + trace_id + "-" + second["spanId"].get<std::string>() + "-01");
    // The collector got the configured headers and JSON; the token is never logged.
    EXPECT_EQ(receiver.last_headers()["authorization"], "Bearer otlp-secret");
    EXPECT_EQ(receiver.last_content_type(), "application/x-protobuf");
    EXPECT_THAT(metrics_of(gateway), HasSubstr("llmgw_trace_spans_exported_total"));
    EXPECT_FALSE(gateway.process().wait_for_output("otlp-secret", 100ms));
}

TEST(Tracing, SamplesByRatioAndAlwaysFollowsTheClientsDecision) {
    OtlpReceiver receiver;
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        one_backend(model) + tracing_section(receiver, "  sample_ratio: 0\n"), {.workers = 1});
    // Not sampled by the client: its traceparent goes on unchanged, nothing is exported.
    const auto unsampled = client_traceparent(1, false);
    ASSERT_EQ(chat(gateway, unsampled).status, 200);
    EXPECT_EQ(model.stats()["last_request"]["headers"]["traceparent"], unsampled);
    // No traceparent at ratio 0: no trace is started.
    ASSERT_EQ(chat(gateway, "").status, 200);
    EXPECT_TRUE(model.stats()["last_request"]["headers"]["traceparent"].is_null());
    // Malformed: dropped, never passed on nor logged.
    const std::string malformed = "00-NOT-A-TRACE-PARENT-zz";
    ASSERT_EQ(chat(gateway, malformed).status, 200);
    EXPECT_TRUE(model.stats()["last_request"]["headers"]["traceparent"].is_null());
    // Sampled by the client: traced whatever the ratio.
    const auto sampled = client_traceparent(2);
    ASSERT_EQ(chat(gateway, sampled).status, 200);
    ASSERT_TRUE(eventually([&] { return !receiver.trace(trace_of(sampled)).empty(); }, 5s));
    ASSERT_TRUE(gateway.wait_for_access_lines(4, 5s));
    for (const auto& span : receiver.spans()) EXPECT_EQ(span["traceId"], trace_of(sampled));
    // One traceparent upstream, the gateway's attempt's (written into the forwarding lines):
    // the client's own field is not passed on beside it.
    const auto sent = model.stats()["last_request"]["headers"]["traceparent"].get<std::string>();
    EXPECT_EQ(sent.size(), 55u);
    EXPECT_EQ(trace_of(sent), trace_of(sampled));
    EXPECT_NE(sent, sampled);
    EXPECT_EQ(gateway.access_line_where("trace_id", trace_of(unsampled))["status"], 200);
    for (const auto& line : gateway.access_log_lines())
        EXPECT_THAT(line.dump(), Not(HasSubstr("NOT-A-TRACE")));
}

TEST(Tracing, StartsATraceAtRatioOneAndSendsItsIdUpstream) {
    OtlpReceiver receiver;
    auto model = FakeModel::start("m1");
    auto gateway =
        RunningGateway::start(one_backend(model) + tracing_section(receiver), {.workers = 1});
    ASSERT_EQ(chat(gateway, "").status, 200);
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    const auto trace_id = gateway.access_log_lines()[0]["trace_id"].get<std::string>();
    ASSERT_EQ(trace_id.size(), 32u);
    ASSERT_TRUE(eventually([&] { return receiver.trace(trace_id).size() == 2; }, 5s));
    const auto spans = receiver.trace(trace_id);
    const auto& server = *span_of_kind(spans, 2);
    EXPECT_FALSE(server.contains("parentSpanId"));  // the trace started here
    EXPECT_EQ(
        model.stats()["last_request"]["headers"]["traceparent"],
        "00-" + trace_id + "-" + (*span_of_kind(spans, 3))["spanId"].get<std::string>() + "-01");
}

TEST(Tracing, AdmissionAndItsRedisCallAreChildSpans) {
    OtlpReceiver receiver;
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const std::string key = "sk-tracing-test-key";
    auto gateway = RunningGateway::start(
        "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis.port()) +
            "/0\", timeout: 2s }\n"
            "tiers: { metered: { rate: { requests_per_second: 1000 } } }\n"
            "consumers: [ { name: acme, tier: metered, keys: [ { sha256: \"" +
            sha256_hex(key) + "\" } ] } ]\n" + one_backend(model) + tracing_section(receiver),
        {.workers = 1});
    const auto traceparent = client_traceparent(9);
    ASSERT_EQ(gateway
                  .post("/v1/chat/completions", chat_body(),
                        {{"authorization", "Bearer " + key}, {"traceparent", traceparent}})
                  .status,
              200);
    const auto trace_id = trace_of(traceparent);
    ASSERT_TRUE(eventually([&] { return receiver.trace(trace_id).size() == 4; }, 5s))
        << receiver.trace(trace_id).size();
    const auto spans = receiver.trace(trace_id);
    const auto& server = *span_of_kind(spans, 2);
    EXPECT_EQ(otlp_attribute(server, "llmgw.consumer")["stringValue"], "acme");
    EXPECT_EQ(otlp_attribute(server, "llmgw.tier")["stringValue"], "metered");
    const auto& admission = *span_of_kind(spans, 1);
    EXPECT_EQ(admission["name"], "llmgw.admission");
    EXPECT_EQ(admission["parentSpanId"], server["spanId"]);
    EXPECT_EQ(otlp_attribute(admission, "llmgw.rate_limit")["stringValue"], "admitted");
    const auto& redis_call = *span_of_kind(spans, 3, 0);  // before the attempt
    EXPECT_EQ(redis_call["name"], "redis");
    EXPECT_EQ(redis_call["parentSpanId"], admission["spanId"]);
    EXPECT_EQ(otlp_attribute(redis_call, "db.system.name")["stringValue"], "redis");
    EXPECT_EQ(otlp_attribute(redis_call, "server.port")["intValue"], std::to_string(redis.port()));
    EXPECT_EQ((*span_of_kind(spans, 3, 1))["name"], "chat fake-model");
}

TEST(Tracing, SendsABatchAgainWhenTheCollectorAnswers503) {
    OtlpReceiver receiver;
    receiver.answer_next(2, 503);
    auto model = FakeModel::start("m1");
    auto gateway =
        RunningGateway::start(one_backend(model) + tracing_section(receiver), {.workers = 1});
    const auto traceparent = client_traceparent(7);
    ASSERT_EQ(chat(gateway, traceparent).status, 200);
    ASSERT_TRUE(eventually([&] { return receiver.trace(trace_of(traceparent)).size() == 2; }, 5s));
    EXPECT_EQ(receiver.requests(), 3u);
    // Counted once the collector's answer is read, just after the receiver kept the spans.
    EXPECT_TRUE(eventually([&] {
        return metrics_of(gateway).find("llmgw_trace_spans_exported_total 2") != std::string::npos;
    }));
}

TEST(Tracing, DropsAndCountsSpansWhenTheQueueIsFullAndNeverDelaysARequest) {
    OtlpReceiver receiver;
    receiver.answer_always(503);
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        one_backend(model) +
            tracing_section(receiver, "  max_queue: 4\n  batch_size: 4\n  timeout: 1s\n"),
        {.workers = 1});
    for (int n = 0; n < 10; ++n) {
        const auto started = std::chrono::steady_clock::now();
        ASSERT_EQ(chat(gateway, client_traceparent(n)).status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
    }
    EXPECT_TRUE(eventually(
        [&] {
            const auto metrics = metrics_of(gateway);
            return metrics.find(R"(llmgw_trace_spans_dropped_total{reason="queue_full"} 0)") ==
                       std::string::npos &&
                   metrics.find(R"(llmgw_trace_spans_dropped_total{reason="export_failed"} 0)") ==
                       std::string::npos;
        },
        10s))
        << metrics_of(gateway);
    EXPECT_THAT(metrics_of(gateway), HasSubstr("llmgw_trace_spans_exported_total 0"));
}

TEST(Tracing, AReloadAppliesAChangedTracingSection) {
    OtlpReceiver first;
    OtlpReceiver second;
    auto model = FakeModel::start("m1");
    auto gateway =
        RunningGateway::start(one_backend(model) + tracing_section(first), {.workers = 1});
    ASSERT_EQ(chat(gateway, client_traceparent(1)).status, 200);
    ASSERT_TRUE(eventually([&] { return !first.trace(trace_of(client_traceparent(1))).empty(); }));

    gateway.rewrite_config(one_backend(model) + "tracing:\n  endpoint: \"" + second.url() +
                           "\"\n  flush_interval: 50ms\n  service_name: renamed\n");
    ASSERT_EQ(http_request(gateway.admin_port(), {"POST", "/admin/reload"}).status, 200);
    ASSERT_EQ(chat(gateway, client_traceparent(2)).status, 200);
    ASSERT_TRUE(eventually([&] { return !second.trace(trace_of(client_traceparent(2))).empty(); }));
    EXPECT_EQ(second.spans()[0]["service.name"], "renamed");
    EXPECT_TRUE(first.trace(trace_of(client_traceparent(2))).empty());

    // Without the section, nothing is traced and the client's header goes on as before.
    gateway.rewrite_config(one_backend(model));
    ASSERT_EQ(http_request(gateway.admin_port(), {"POST", "/admin/reload"}).status, 200);
    const std::string malformed = "00-not-valid";
    ASSERT_EQ(chat(gateway, malformed).status, 200);
    EXPECT_EQ(model.stats()["last_request"]["headers"]["traceparent"], malformed);
    ASSERT_TRUE(gateway.wait_for_access_lines(3, 5s));
    EXPECT_FALSE(gateway.access_log_lines().back().contains("trace_id"));
}

}  // namespace
}  // namespace llmgw::testing
