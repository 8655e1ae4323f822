// The listener's limits through raw sockets: 408, 413, 431, keep-alive and idle close.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;
using testing::StartsWith;

namespace {

struct LimitsTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        GatewayOptions options;
        options.server_extra =
            "  max_header_bytes: 4KiB\n  max_body_bytes: 64KiB\n  header_timeout: 500ms\n  "
            "body_timeout: 500ms\n"
            "  idle_timeout: 700ms\n";
        gateway = std::make_unique<RunningGateway>(
            RunningGateway::start("backends:\n  vllm: { endpoints: [ { url: \"" + model->url() +
                                      "\" } ] }\nroutes:\n  - { name: all, backend: vllm }\n",
                                  options));
    }
    std::unique_ptr<FakeModel> model;
    std::unique_ptr<RunningGateway> gateway;
};

}  // namespace

TEST_F(LimitsTest, SlowRequestHeadGets408AndClose) {
    RawConnection raw(gateway->port());
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"));
    const auto reply = raw.read_until_close(3s);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 408"));
    EXPECT_THAT(reply, HasSubstr("request_timeout"));
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 1500ms);
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, SlowRequestBodyGets408AndClose) {
    RawConnection raw(gateway->port());
    ASSERT_TRUE(raw.send(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":"));
    const auto reply = raw.read_until_close(3s);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 408"));
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, DeclaredBodyOverTheLimitGets413BeforeTheBodyIsSent) {
    RawConnection raw(gateway->port());
    ASSERT_TRUE(raw.send(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
    const auto reply = raw.read_until_close(3s);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
    EXPECT_THAT(reply, HasSubstr("body_too_large"));
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, ChunkedBodyGrowingOverTheLimitGets413) {
    RawConnection raw(gateway->port());
    std::string request =
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string piece(16 * 1024, 'a');
    for (int i = 0; i < 5; ++i) request += "4000\r\n" + piece + "\r\n";
    raw.send(request);
    const auto reply = raw.read_until_close(3s);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, HeadersOverTheLimitGet431) {
    const auto response =
        http_request(gateway->port(), {"GET", "/v1/models", {{"x-big", std::string(8000, 'b')}}});
    EXPECT_EQ(response.status, 431);
    EXPECT_EQ(response.json()["error"]["code"], "headers_too_large");
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, MalformedRequestLineGets400) {
    RawConnection raw(gateway->port());
    raw.send("THIS IS NOT HTTP\r\n\r\n");
    const auto reply = raw.read_until_close(3s);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400"));
    EXPECT_EQ(model->stats()["requests_total"], 0);
}

TEST_F(LimitsTest, KeepAliveServesManyRequestsOnOneConnectionThenClosesWhenIdle) {
    HttpConnection connection(gateway->port());
    for (int i = 0; i < 5; ++i) {
        const auto response = connection.send({"GET", "/v1/models"});
        ASSERT_EQ(response.status, 200);
        EXPECT_FALSE(response.has_header("connection"));
    }
    const auto idle_from = std::chrono::steady_clock::now();
    EXPECT_TRUE(connection.closed_by_peer(3s));
    const auto idle_for = std::chrono::steady_clock::now() - idle_from;
    EXPECT_GE(idle_for, 500ms);
    EXPECT_LT(idle_for, 2000ms);
}

TEST_F(LimitsTest, ConnectionCloseIsHonoured) {
    HttpConnection connection(gateway->port());
    const auto response = connection.send({"GET", "/v1/models", {{"connection", "close"}}});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("connection"), "close");
    EXPECT_TRUE(connection.closed_by_peer(1s));
}

TEST_F(LimitsTest, PipelinedRequestsAreAnsweredInOrder) {
    RawConnection raw(gateway->port());
    raw.send(
        "GET /v1/models HTTP/1.1\r\nHost: x\r\nx-fake-delay-ms: 100\r\n\r\n"
        "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto reply = raw.read_until_close(5s);
    const auto first = reply.find("HTTP/1.1 200");
    ASSERT_NE(first, std::string::npos);
    EXPECT_NE(reply.find("HTTP/1.1 200", first + 1), std::string::npos);
}

// Requests with bodies back to back in one segment, and one whose body comes later: the head
// and the body are parsed from what the connection's buffer holds where they can be, read for
// where they cannot, and each request reaches the model whole and in order.
TEST_F(LimitsTest, PipelinedRequestsWithBodiesReachTheModelWholeAndInOrder) {
    const auto request = [](std::size_t content_bytes, bool last) {
        const std::string body = R"({"model":"m1","messages":[{"role":"user","content":")" +
                                 std::string(content_bytes, 'a') + R"("}]})";
        return std::make_pair("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/json\r\n" +
                                  std::string(last ? "Connection: close\r\n" : "") +
                                  "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n",
                              body);
    };
    const auto [head_a, body_a] = request(40, false);
    const auto [head_b, body_b] = request(400, false);
    const auto [head_c, body_c] = request(4000, true);
    RawConnection raw(gateway->port());
    ASSERT_TRUE(raw.send(head_a + body_a + head_b + body_b + head_c + body_c.substr(0, 100)));
    ASSERT_TRUE(raw.send(body_c.substr(100)));
    const auto reply = raw.read_until_close(5s);
    std::vector<std::string> answers;
    for (auto at = reply.find("HTTP/1.1 "); at != std::string::npos;) {
        const auto next = reply.find("HTTP/1.1 ", at + 1);
        answers.push_back(reply.substr(at, next == std::string::npos ? next : next - at));
        at = next;
    }
    ASSERT_EQ(answers.size(), 3u) << reply;
    const std::size_t sizes[] = {body_a.size(), body_b.size(), body_c.size()};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto answer = parse_response(answers[i]);
        ASSERT_EQ(answer.status, 200) << answers[i];
        // The fake model counts a prompt token per four bytes of the body it got.
        EXPECT_EQ(answer.json()["usage"]["prompt_tokens"], sizes[i] / 4) << i;
    }
    EXPECT_EQ(model->stats()["requests_total"], 3);
}

TEST_F(LimitsTest, RefusedRequestsStillGetARequestIdAnAccessLogLineAndACount) {
    RawConnection raw(gateway->port());
    ASSERT_TRUE(raw.send(
        "POST /v1/chat/completions?key=x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
    const auto reply = parse_response(raw.read_until_close(3s));
    EXPECT_EQ(reply.status, 413);
    EXPECT_EQ(reply.header("x-request-id").size(), 32u);
    ASSERT_TRUE(gateway->wait_for_access_lines(1, 5s));
    const auto line = gateway->access_log_lines()[0];
    EXPECT_EQ(line["status"], 413);
    EXPECT_EQ(line["request_id"], reply.header("x-request-id"));
    EXPECT_EQ(line["method"], "POST");
    EXPECT_EQ(line["path"], "/v1/chat/completions");
    EXPECT_EQ(line["error"], "body_too_large");
    const auto metrics = http_request(gateway->admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics,
                HasSubstr(R"(llmgw_requests_total{backend="",code="413",route="",tier=""} 1)"));
    EXPECT_THAT(metrics, HasSubstr("llmgw_requests_in_flight 0"));
}

TEST_F(LimitsTest, HeadRequestsGetNoBodyEvenOnErrors) {
    HttpConnection connection(gateway->port());
    const auto missing = connection.send({"HEAD", "/nowhere"});
    EXPECT_EQ(missing.status, 404);
    EXPECT_TRUE(missing.body.empty());
    // The connection is still usable: no stray body bytes were sent.
    EXPECT_EQ(connection.send({"GET", "/v1/models"}).status, 200);
}

// Framing and field refusals: framing_test.cpp.

TEST(ConnectionLimit, ConnectionsBeyondMaxConnectionsAreClosedAtOnce) {
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.server_extra = "  max_connections: 2\n";
    options.workers = 1;
    auto gateway = RunningGateway::start(
        "backends:\n  vllm: { endpoints: [ { url: \"" + model.url() + "\" } ] }\nroutes:\n  - { name: all, backend: vllm }\n",
        options);
    auto first = std::make_unique<HttpConnection>(gateway.port());
    HttpConnection second(gateway.port());
    ASSERT_EQ(first->send({"GET", "/v1/models"}).status, 200);
    ASSERT_EQ(second.send({"GET", "/v1/models"}).status, 200);
    RawConnection third(gateway.port());
    EXPECT_TRUE(third.closed_by_peer(2s));
    // A connection that ends frees its place.
    first.reset();
    bool served = false;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!served && std::chrono::steady_clock::now() < deadline) {
        try {
            served = http_request(gateway.port(), {"GET", "/v1/models"}, 1s).status == 200;
        } catch (const HttpError&) {
            std::this_thread::sleep_for(20ms);  // the close of `first` is still on its way
        }
    }
    EXPECT_TRUE(served);
    EXPECT_THAT(http_request(gateway.admin_port(), {"GET", "/metrics"}).body,
                HasSubstr("llmgw_connections_refused_total"));
}
