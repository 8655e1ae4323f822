// Forwarding through the real binary: JSON and SSE relayed, routing, rewrites, balancing, upstream
// errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

std::string one_backend(const FakeModel& model, const std::string& extra_route = "") {
    return "backends:\n  vllm:\n    endpoints:\n      - url: \"" + model.url() +
           "\"\n    timeouts: { connect: 1s, total: 3s }\nroutes:\n  - name: chat\n    match: { "
           "path_prefix: /v1/ }\n"
           "    backend: vllm\n" +
           extra_route;
}

}  // namespace

TEST(Proxy, RelaysAJsonChatCompletion) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response = gateway.post("/v1/chat/completions", chat_body("fake-model"));
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("content-type"), "application/json");
    EXPECT_EQ(response.header("x-fake-server"), "m1");
    const auto body = response.json();
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["model"], "fake-model");
    EXPECT_GT(body["usage"]["completion_tokens"].get<int>(), 0);
    EXPECT_EQ(model.stats()["by_path"]["/v1/chat/completions"], 1);
}

TEST(Proxy, StreamsServerSentEventsAsTheyArrive) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    auto body = chat_body("fake-model", true);
    const auto response = http_stream(gateway.port(),
                                      {"POST",
                                       "/v1/chat/completions",
                                       {{"content-type", "application/json"},
                                        {"x-fake-chunks", "5"},
                                        {"x-fake-chunk-interval-ms", "300"}},
                                       body.dump()},
                                      10s);
    ASSERT_EQ(response.status, 200);
    EXPECT_TRUE(response.complete) << response.error;
    EXPECT_EQ(response.header("content-type"), "text/event-stream");
    const auto events = sse_data_lines(response.body());
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    const auto first = sse_event_arrival(response, 0);
    const auto last = sse_event_arrival(response, events.size() - 1);
    ASSERT_TRUE(first && last);
    // Five words 300 ms apart: the first event must not wait for the rest (1.2 s later).
    EXPECT_LT(*first, 600ms);
    EXPECT_GT(*last - *first, 1000ms);
    // Pacing is kept event by event, not delivered in bursts.
    const auto second = sse_event_arrival(response, 1);
    ASSERT_TRUE(second);
    EXPECT_GT(*second - *first, 200ms);
}

// The fake server's x-fake-hold-ms (bench/run.sh's streaming setup): the first event at once,
// the others only after the hold, so many streams can all be open before events flow.
TEST(FakeModelServer, HoldPausesAStreamAfterItsFirstEvent) {
    auto model = FakeModel::start("m1");
    const auto response = http_stream(model.port(),
                                      {"POST",
                                       "/v1/chat/completions",
                                       {{"content-type", "application/json"},
                                        {"x-fake-chunks", "3"},
                                        {"x-fake-chunk-interval-ms", "10"},
                                        {"x-fake-hold-ms", "800"}},
                                       chat_body("fake-model", true).dump()},
                                      10s);
    ASSERT_EQ(response.status, 200);
    EXPECT_TRUE(response.complete) << response.error;
    const auto events = sse_data_lines(response.body());
    ASSERT_EQ(events.size(), 5u);  // three words, the stop event, [DONE]
    EXPECT_EQ(events.back(), "[DONE]");
    const auto first = sse_event_arrival(response, 0);
    const auto second = sse_event_arrival(response, 1);
    ASSERT_TRUE(first && second);
    // Timers never fire early; a late read of the first event can only shrink the gap a little.
    EXPECT_GT(*second - *first, 500ms);
}

TEST(Proxy, UsageChunkPassesThroughWhenTheClientAskedForIt) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    auto body = chat_body("fake-model", true);
    body["stream_options"] = {{"include_usage", true}};
    const auto response = http_stream(
        gateway.port(),
        {"POST", "/v1/chat/completions", {{"x-fake-chunk-interval-ms", "1"}}, body.dump()});
    ASSERT_TRUE(response.complete) << response.error;
    bool saw_usage = false;
    for (const auto& line : sse_data_lines(response.body()))
        if (line != "[DONE]" && nlohmann::json::parse(line).contains("usage")) saw_usage = true;
    EXPECT_TRUE(saw_usage);
}

TEST(Proxy, RoundRobinSpreadsRequestsEvenly) {
    auto a = FakeModel::start("a");
    auto b = FakeModel::start("b");
    auto c = FakeModel::start("c");
    auto gateway =
        RunningGateway::start("backends:\n  pool:\n    endpoints:\n      - url: \"" + a.url() +
                              "\"\n      - url: \"" + b.url() + "\"\n      - url: \"" + c.url() +
                              "\"\nroutes:\n  - { name: all, backend: pool }\n");
    std::map<std::string, int> hits;
    for (int i = 0; i < 30; ++i)
        ++hits[gateway.post("/v1/completions", {{"model", "x"}, {"prompt", "p"}})
                   .header("x-fake-server")];
    EXPECT_EQ(hits["a"], 10);
    EXPECT_EQ(hits["b"], 10);
    EXPECT_EQ(hits["c"], 10);
}

TEST(Proxy, WeightsSetTheShareOfEachEndpoint) {
    auto heavy = FakeModel::start("heavy");
    auto light = FakeModel::start("light");
    auto gateway = RunningGateway::start(
        "backends:\n  pool:\n    balancer: weighted\n    endpoints:\n      - { url: \"" +
        heavy.url() + "\", weight: 3 }\n      - { url: \"" + light.url() +
        "\", weight: 1 }\nroutes:\n  - { name: all, backend: pool }\n");
    std::map<std::string, int> hits;
    for (int i = 0; i < 40; ++i)
        ++hits[http_request(gateway.port(), {"GET", "/v1/models"}).header("x-fake-server")];
    EXPECT_EQ(hits["heavy"], 30);
    EXPECT_EQ(hits["light"], 10);
}

TEST(Proxy, RoutesByModelThenHeaderThenPath) {
    auto llama = FakeModel::start("llama");
    auto canary = FakeModel::start("canary");
    auto fallback = FakeModel::start("fallback");
    auto gateway = RunningGateway::start(
        "backends:\n"
        "  llama: { endpoints: [ { url: \"" +
        llama.url() +
        "\" } ] }\n"
        "  canary: { endpoints: [ { url: \"" +
        canary.url() +
        "\" } ] }\n"
        "  fallback: { endpoints: [ { url: \"" +
        fallback.url() +
        "\" } ] }\n"
        "routes:\n"
        "  - { name: by-model, backend: llama, match: { path_prefix: /v1/, model: llama-3-8b } }\n"
        "  - { name: by-header, backend: canary, match: { path_prefix: /v1/, headers: { "
        "x-model-version: \"2\" } } }\n"
        "  - { name: rest, backend: fallback, match: { path_prefix: /v1/ } }\n");
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body("llama-3-8b")).header("x-fake-server"),
              "llama");
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body("other"), {{"X-Model-Version", "2"}})
                  .header("x-fake-server"),
              "canary");
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body("other"), {{"x-model-version", "3"}})
                  .header("x-fake-server"),
              "fallback");
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body("other")).header("x-fake-server"),
              "fallback");

    const auto missing = http_request(gateway.port(), {"GET", "/v2/models"});
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.json()["error"]["code"], "route_not_found");
    EXPECT_EQ(missing.json()["error"]["type"], "invalid_request_error");
    EXPECT_FALSE(missing.header("x-request-id").empty());

    // A model route never takes a request without a JSON body: the next route does.
    const auto not_json =
        http_request(gateway.port(), {"POST", "/v1/chat/completions", {}, "model=llama"});
    EXPECT_EQ(not_json.header("x-fake-server"), "fallback");
    const auto models = http_request(gateway.port(), {"GET", "/v1/models"});
    EXPECT_EQ(models.status, 200);
    EXPECT_EQ(models.header("x-fake-server"), "fallback");
}

TEST(Proxy, RewritesPathModelAndHeaders) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        "backends:\n  vllm: { endpoints: [ { url: \"" + model.url() +
        "\" } ] }\nroutes:\n"
        "  - name: public\n"
        "    match: { path_prefix: /openai/v1/ }\n"
        "    backend: vllm\n"
        "    rewrite: { path_prefix: /v1/, model: meta-llama/Meta-Llama-3-8B-Instruct }\n"
        "    headers: { set: { x-team: ml, authorization: \"Bearer upstream-key\" }, remove: "
        "[x-debug] }\n");
    const auto response = gateway.post("/openai/v1/chat/completions?trace=1", chat_body("llama"),
                                       {{"x-fake-echo", "1"},
                                        {"x-debug", "yes"},
                                        {"x-team", "client-value"},
                                        {"authorization", "Bearer client-key"}});
    ASSERT_EQ(response.status, 200) << response.body;
    const auto echo = response.json();
    EXPECT_EQ(echo["target"], "/v1/chat/completions?trace=1");
    EXPECT_EQ(echo["model"], "meta-llama/Meta-Llama-3-8B-Instruct");
    EXPECT_EQ(echo["headers"]["x-team"], "ml");
    EXPECT_EQ(echo["headers"]["authorization"], "Bearer upstream-key");
    EXPECT_FALSE(echo["headers"].contains("x-debug"));
    // The rest of the body is untouched.
    EXPECT_EQ(nlohmann::json::parse(echo["body"].get<std::string>())["messages"][0]["content"],
              "Say hello");
}

TEST(Proxy, StripsHopByHopHeadersAndAddsForwardingHeaders) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response =
        http_request(gateway.port(),
                     {"POST",
                      "/v1/chat/completions",
                      {{"x-fake-echo", "1"},
                       {"connection", "keep-alive, x-private, x-forwarded-for"},
                       {"x-private", "do not forward"},
                       {"keep-alive", "timeout=5"},
                       {"te", "trailers"},
                       {"x-forwarded-for", "6.6.6.6"},
                       {"x-forwarded-host", "evil.example"},
                       {"x-request-id", "client-id-42"},
                       {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
                      chat_body().dump()});
    ASSERT_EQ(response.status, 200) << response.body;
    const auto headers = response.json()["headers"];
    EXPECT_FALSE(headers.contains("x-private"));
    EXPECT_FALSE(headers.contains("keep-alive"));
    EXPECT_FALSE(headers.contains("te"));
    EXPECT_EQ(headers["x-forwarded-for"], "127.0.0.1");  // the peer, not the client's claim
    EXPECT_EQ(headers["x-forwarded-proto"], "http");
    EXPECT_EQ(headers["x-forwarded-host"],
              "127.0.0.1:" + std::to_string(gateway.port()));  // the client's Host
    EXPECT_EQ(headers["x-request-id"], "client-id-42");
    EXPECT_EQ(headers["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    EXPECT_EQ(response.header("x-request-id"), "client-id-42");
}

TEST(Proxy, ReplacesAnInsaneRequestIdAndSendsTheSameIdUpstream) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response = http_request(
        gateway.port(), {"POST",
                         "/v1/chat/completions",
                         {{"x-fake-echo", "1"}, {"x-request-id", "bad id with spaces"}},
                         chat_body().dump()});
    const auto id = response.header("x-request-id");
    EXPECT_NE(id, "bad id with spaces");
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(response.json()["headers"]["x-request-id"], id);
}

TEST(Proxy, AOneMebibytePromptArrivesIntact) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    std::string prompt;
    for (int i = 0; prompt.size() < 1024 * 1024; ++i) prompt += "token" + std::to_string(i) + " ";
    nlohmann::json body = {{"model", "fake-model"}, {"prompt", prompt}};
    const auto text = body.dump();
    const auto response = http_request(
        gateway.port(), {"POST", "/v1/completions", {{"x-fake-echo", "1"}}, text}, 20s);
    ASSERT_EQ(response.status, 200);
    const auto echo = response.json();
    EXPECT_EQ(echo["body_bytes"], text.size());
    EXPECT_EQ(echo["body"], text);
}

TEST(Proxy, UpstreamErrorsPassThroughUnchanged) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response =
        gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-status", "429"}});
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(response.json()["error"]["type"], "fake_error");
}

TEST(Proxy, UnreachableUpstreamIs502) {
    const auto dead_port = free_port();
    auto gateway = RunningGateway::start(
        "backends:\n  dead: { endpoints: [ { url: \"http://127.0.0.1:" + std::to_string(dead_port) +
        "\" } ] }\nroutes:\n  - { name: all, backend: dead }\n");
    const auto response = gateway.post("/v1/chat/completions", chat_body());
    EXPECT_EQ(response.status, 502);
    EXPECT_EQ(response.json()["error"]["type"], "upstream_error");
}

TEST(Proxy, TotalTimeoutIs504BeforeTheAnswerStarts) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        "backends:\n  slow:\n    endpoints: [ { url: \"" + model.url() +
        "\" } ]\n    timeouts: { total: 500ms }\nroutes:\n  - { name: all, backend: slow }\n");
    const auto started = std::chrono::steady_clock::now();
    const auto response =
        gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-delay-ms", "3000"}});
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(response.status, 504);
    EXPECT_EQ(response.json()["error"]["code"], "upstream_timeout");
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 1500ms);
}

TEST(Proxy, AStreamCutByTheUpstreamIsCutForTheClient) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response =
        http_stream(gateway.port(),
                    {"POST",
                     "/v1/chat/completions",
                     {{"x-fake-drop-after", "2"}, {"x-fake-chunk-interval-ms", "10"}},
                     chat_body("fake-model", true).dump()},
                    5s);
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.complete);  // no terminating chunk: the client knows it is cut
    const auto events = sse_data_lines(response.body());
    ASSERT_EQ(events.size(), 3u);  // two words, then the gateway's error event
    EXPECT_EQ(nlohmann::json::parse(events[2])["error"]["code"], "upstream_reset");
}

// The reset comes right behind the last bytes, often in the same readiness event: the read after
// them is woken by no event (a draining read cannot tell a reset from TCP_INQ), so it is told at
// the idle deadline by the connection's state, still as a reset.
TEST(Proxy, AStreamResetByTheUpstreamIsCutAsAReset) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        "backends:\n  vllm:\n    endpoints:\n      - url: \"" + model.url() +
        "\"\n    timeouts: { connect: 1s, idle: 1s, total: 10s }\nroutes:\n  - name: chat\n"
        "    match: { path_prefix: /v1/ }\n    backend: vllm\n");
    const auto response =
        http_stream(gateway.port(),
                    {"POST",
                     "/v1/chat/completions",
                     {{"x-fake-reset-after", "2"}, {"x-fake-chunk-interval-ms", "10"}},
                     chat_body("fake-model", true).dump()},
                    5s);
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.complete);
    const auto events = sse_data_lines(response.body());
    ASSERT_EQ(events.size(), 3u);  // two words, then the gateway's error event
    EXPECT_EQ(nlohmann::json::parse(events[2])["error"]["code"], "upstream_reset");
}

TEST(Proxy, XForwardedForIsBelievedOnlyFromTrustedProxies) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.server_extra = "  trusted_proxies: [\"127.0.0.0/8\"]\n";
    auto gateway = RunningGateway::start(
        "backends:\n  vllm: { endpoints: [ { url: \"" + model.url() + "\" } ] }\nroutes:\n  - { name: chat, backend: vllm }\n",
        options);
    const auto response = http_request(gateway.port(), {"POST", "/v1/chat/completions",
                                                        {{"x-fake-echo", "1"}, {"x-forwarded-for", "198.51.100.4"}},
                                                        chat_body().dump()});
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.json()["headers"]["x-forwarded-for"], "198.51.100.4, 127.0.0.1");
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway.access_log_lines()[0]["client"], "198.51.100.4");
}

// Forwarded and X-Real-IP follow x-forwarded-for's rule: a client cannot name its own address,
// a trusted proxy can.
TEST(Proxy, ForwardedAndXRealIpAreKeptOnlyFromTrustedProxies) {
    auto model = FakeModel::start("m1");
    GatewayOptions trusting;
    trusting.server_extra = "  trusted_proxies: [\"127.0.0.0/8\"]\n";
    auto untrusted_peer = RunningGateway::start(one_backend(model));  // no trusted_proxies
    auto trusted_peer = RunningGateway::start(one_backend(model), trusting);
    auto headers_sent_through = [](const RunningGateway& gateway) {
        const auto response = http_request(
            gateway.port(), {"POST", "/v1/chat/completions",
                             {{"x-fake-echo", "1"},
                              {"forwarded", "for=198.51.100.4;proto=https"},
                              {"x-real-ip", "198.51.100.4"}},
                             chat_body().dump()});
        EXPECT_EQ(response.status, 200) << response.body;
        return response.json()["headers"];
    };
    const auto dropped = headers_sent_through(untrusted_peer);
    EXPECT_FALSE(dropped.contains("forwarded")) << dropped.dump();
    EXPECT_FALSE(dropped.contains("x-real-ip")) << dropped.dump();
    EXPECT_EQ(dropped["x-forwarded-for"], "127.0.0.1");
    const auto kept = headers_sent_through(trusted_peer);
    EXPECT_EQ(kept["forwarded"], "for=198.51.100.4;proto=https");
    EXPECT_EQ(kept["x-real-ip"], "198.51.100.4");
}

TEST(Proxy, AnUpstreamAnswerWithAmbiguousFramingIs502) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response = gateway.post("/v1/chat/completions", chat_body(), {{"x-fake-bad-framing", "1"}});
    EXPECT_EQ(response.status, 502);
    EXPECT_EQ(response.json()["error"]["code"], "upstream_invalid");
}

TEST(Proxy, AbsoluteFormTargetsAreRoutedByTheirPath) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response = http_request(
        gateway.port(), {"GET", "http://gateway.example/v1/models?x=1", {{"x-fake-echo", "1"}}});
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.json()["target"], "/v1/models?x=1");
}

// RFC 9112 §3.2.2: the target's authority replaces Host, so x-forwarded-host follows it.
TEST(Proxy, AnAbsoluteFormTargetsAuthorityReplacesHost) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto response = http_request(
        gateway.port(), {"POST", "http://other.example:8080/v1/chat/completions",
                         {{"host", "x"}, {"x-fake-echo", "1"}}, chat_body().dump()});
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.json()["headers"]["x-forwarded-host"], "other.example:8080");
}

TEST(Proxy, AnAbsoluteFormTargetWithAnInvalidAuthorityIs400) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    for (const auto* target : {"http://user@other.example/v1/models", "http:///v1/models"}) {
        const auto response = http_request(gateway.port(), {"GET", target, {{"host", "x"}}});
        EXPECT_EQ(response.status, 400) << target;
    }
    EXPECT_EQ(model.stats()["requests_total"], 0);
}

// VmHWM (peak resident memory) of a process, in KiB.
static long peak_rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

TEST(Proxy, AnUpstreamChunkLineThatNeverEndsIsCutNotBuffered) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    const auto before = peak_rss_kib(gateway.process().pid());
    ASSERT_GT(before, 0);
    // The fake sends up to 64 MiB of one chunk-size line's extension.
    const auto response = http_stream(
        gateway.port(),
        {"POST", "/v1/chat/completions",
         {{"content-type", "application/json"}, {"x-fake-bad-framing", "endless-chunk-line"}},
         chat_body().dump()},
        20s);
    EXPECT_TRUE(response.status == 502 || !response.complete) << response.status;
    // llmgw read at most its 1 MiB read-ahead bound, not the 64 MiB line (the margin leaves
    // room for a sanitizer's allocator and for other requests of the run).
    EXPECT_LT(peak_rss_kib(gateway.process().pid()) - before, 24 * 1024);
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
}

// A write the kernel does not take whole at once (the gateway first hands the socket what it
// takes, then waits for room for the rest): a 6 MiB request body to the upstream, and its 6 MiB
// echo to a client whose receive buffer is 4 KiB, arrive whole and in order.
TEST(Proxy, WritesLargerThanTheSocketTakesAtOnceArriveWholeBothWays) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(one_backend(model));
    std::string body(6 * 1024 * 1024, 'a');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
    const int fd = send_with_small_window(gateway.port(), 4096, echo_request(body));
    ASSERT_GE(fd, 0) << "the gateway stopped reading the request";
    std::string answer;
    char piece[4096];
    for (ssize_t n; (n = ::recv(fd, piece, sizeof piece, 0)) > 0;) answer.append(piece, static_cast<std::size_t>(n));
    ::close(fd);
    ASSERT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer.substr(0, 200);
    const auto head_end = answer.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    const auto echo = nlohmann::json::parse(answer.substr(head_end + 4), nullptr, false);
    ASSERT_TRUE(echo.is_object()) << "the answer's body is not the whole echo: " << answer.size() << " bytes";
    EXPECT_TRUE(echo["body"] == body) << "the request body did not reach the model server whole";
}
