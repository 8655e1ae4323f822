// TLS both ways with certificates made at test time: the listener terminating HTTPS
// (server.tls) and https:// upstreams verified against a CA (backends.<name>.tls).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <thread>

#include "harness.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

using clock_type = std::chrono::steady_clock;


class Tls : public ::testing::Test {
protected:
    Tls() : pki(make_test_pki(dir)) {}

    // `server.tls` lines for GatewayOptions::server_extra.
    std::string server_tls(const std::string& extra = "") const {
        return "  tls:\n    cert_file: \"" + pki.server_cert + "\"\n    key_file: \"" +
               pki.server_key + "\"\n" + extra;
    }
    TlsClientOptions trusting_client() const { return TlsClientOptions{.ca_file = pki.ca_cert}; }
    FakeModel https_fake(const std::string& id = "tls-fake") const {
        return FakeModel::start(id, {"--tls-cert", pki.server_cert, "--tls-key", pki.server_key});
    }
    static std::string one_backend(const std::string& url, const std::string& backend_extra = "") {
        return "backends:\n  m:\n    endpoints: [ { url: \"" + url + "\" } ]\n" + backend_extra +
               "routes:\n  - { name: chat, backend: m }\n";
    }
    std::string trusting_backend(const std::string& url, const std::string& extra = "") const {
        return one_backend(url, "    tls: { ca_file: \"" + pki.ca_cert + "\" }\n" + extra);
    }

    TempDir dir;
    TestPki pki;
};

HttpRequest chat_request(bool stream, HttpHeaders extra = {}) {
    extra.emplace_back("content-type", "application/json");
    return {"POST", "/v1/chat/completions", extra, chat_body("fake-model", stream).dump()};
}

}  // namespace

TEST_F(Tls, ServesPlainAndStreamedChatOverHttps) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()), {.server_extra = server_tls()});

    const auto answer = https_request(gateway.port(), trusting_client(), chat_request(false));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.header("x-fake-server"), "plain");
    EXPECT_EQ(answer.json()["usage"]["completion_tokens"], 8);

    const auto stream = https_stream(gateway.port(), trusting_client(),
                                     chat_request(true, {{"x-fake-chunk-interval-ms", "30"}}));
    ASSERT_EQ(stream.status, 200);
    EXPECT_TRUE(stream.complete) << stream.error;
    const auto events = sse_data_lines(stream.body());
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    // Streamed, not buffered: the events arrive spread over the upstream's pacing.
    EXPECT_GE(stream.chunks.size(), 4u);
}

TEST_F(Tls, KeepAliveOverTlsWithHttp11ChosenByAlpn) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()), {.server_extra = server_tls()});

    HttpConnection connection(gateway.port(), trusting_client());  // offers h2 and http/1.1
    EXPECT_EQ(connection.alpn(), "http/1.1");
    EXPECT_EQ(connection.tls_version(), "TLSv1.3");
    for (int i = 0; i < 3; ++i) {
        const auto answer = connection.send(chat_request(false));
        EXPECT_EQ(answer.status, 200) << "request " << i;
        EXPECT_FALSE(answer.has_header("connection")) << answer.header("connection");
    }
    // One TLS 1.2 client too: the modern suites only (ECDHE, AEAD).
    HttpConnection tls12(gateway.port(),
                         TlsClientOptions{.ca_file = pki.ca_cert, .max_version = TLS1_2_VERSION});
    EXPECT_EQ(tls12.tls_version(), "TLSv1.2");
    EXPECT_EQ(tls12.send(chat_request(false)).status, 200);
}

TEST_F(Tls, OldProtocolVersionsAreRefused) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()), {.server_extra = server_tls()});
    try {
        HttpConnection old(gateway.port(), TlsClientOptions{.min_version = TLS1_1_VERSION,
                                                            .max_version = TLS1_1_VERSION});
        FAIL() << "a TLS 1.1 handshake succeeded";
    } catch (const HttpError& e) {
        // The gateway's own refusal (an alert), not the client failing to offer TLS 1.1.
        EXPECT_THAT(e.what(), HasSubstr("alert protocol version"));
    }
    EXPECT_EQ(https_request(gateway.port(), trusting_client(), chat_request(false)).status, 200);

    // server.tls.min_version: "1.3" refuses TLS 1.2 too.
    auto strict = RunningGateway::start(one_backend(model.url()),
                                        {.server_extra = server_tls("    min_version: \"1.3\"\n")});
    EXPECT_THROW(HttpConnection(strict.port(), TlsClientOptions{.ca_file = pki.ca_cert,
                                                                .max_version = TLS1_2_VERSION}),
                 HttpError);
    EXPECT_EQ(https_request(strict.port(), trusting_client(), chat_request(false)).status, 200);
}

TEST_F(Tls, AClientThatNeverHandshakesIsClosedAtTheHeaderTimeout) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()),
                                         {.server_extra = "  header_timeout: 1s\n" + server_tls()});
    RawConnection silent(gateway.port());
    const auto connected = clock_type::now();
    ASSERT_TRUE(silent.closed_by_peer(5s));
    const auto waited = clock_type::now() - connected;
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 3s);
}

TEST_F(Tls, APlainHttpRequestToTheTlsPortGetsA400AndNothingBreaks) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()), {.server_extra = server_tls()});
    RawConnection plain(gateway.port());
    ASSERT_TRUE(plain.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto response = parse_response(plain.read_until_close(5s));
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.json()["error"]["code"], "plain_http_to_https_port");
    // Garbage that is not HTTP either: closed, nothing answered, the gateway unharmed.
    RawConnection garbage(gateway.port());
    garbage.send(std::string(64, '\x01'));
    EXPECT_TRUE(garbage.closed_by_peer(5s));
    EXPECT_EQ(https_request(gateway.port(), trusting_client(), chat_request(false)).status, 200);
    EXPECT_TRUE(gateway.process().running());
}

TEST_F(Tls, ATlsClientThatLeavesCancelsTheUpstreamRequest) {
    auto model = FakeModel::start("plain");
    auto gateway = RunningGateway::start(one_backend(model.url()), {.server_extra = server_tls()});
    // The client gives up waiting for an answer 5 s away; its connection closes.
    EXPECT_THROW(https_stream(gateway.port(), trusting_client(),
                              chat_request(true, {{"x-fake-delay-ms", "5000"}}), 500ms),
                 HttpError);
    const auto left = clock_type::now();
    ASSERT_TRUE(eventually([&] { return model.stats()["hang_ups_seen"] == 1; }, 3s));
    EXPECT_LT(clock_type::now() - left, 1s);
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway.access_log_lines()[0]["error"], "client_closed");
}

TEST_F(Tls, HttpsUpstreamVerifiedByCaFileWithSniAndPooledConnections) {
    auto model = https_fake();
    auto gateway = RunningGateway::start(trusting_backend(model.url("localhost")));
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200) << i;
    const auto stream = http_stream(gateway.port(), chat_request(true));
    EXPECT_EQ(stream.status, 200);
    EXPECT_TRUE(stream.complete) << stream.error;
    EXPECT_EQ(sse_data_lines(stream.body()).back(), "[DONE]");

    const auto stats = model.stats();
    EXPECT_EQ(stats["requests_total"], 7);
    EXPECT_EQ(stats["last_sni"], "localhost");
    // Keep-alive: one handshake per worker's connection (two workers), plus the stats call.
    EXPECT_LE(stats["tls_handshakes"].get<int>(), 3);
}

TEST_F(Tls, ServerNameOverridesTheSniAndTheCheckedNameAndIpUrlsAreVerifiedByAddress) {
    auto model = https_fake();
    const auto url = model.url("127.0.0.1");
    const auto ca = "\"" + pki.ca_cert + "\"";
    auto gateway = RunningGateway::start(
        "backends:\n"
        "  by-ip:\n    endpoints: [ { url: \"" +
        url + "\" } ]\n    tls: { ca_file: " + ca +
        " }\n"
        "  by-name:\n    endpoints: [ { url: \"" +
        url +
        "\" } ]\n"
        "    tls: { ca_file: " +
        ca +
        ", server_name: fake.test }\n"
        "  wrong-name:\n    endpoints: [ { url: \"" +
        url +
        "\" } ]\n"
        "    tls: { ca_file: " +
        ca +
        ", server_name: other.test }\n"
        "routes:\n"
        "  - { name: ip, match: { path_prefix: /ip/ }, backend: by-ip, rewrite: { path_prefix: "
        "/v1/ } }\n"
        "  - { name: name, match: { path_prefix: /name/ }, backend: by-name, rewrite: { "
        "path_prefix: /v1/ } }\n"
        "  - { name: wrong, match: { path_prefix: /wrong/ }, backend: wrong-name, rewrite: { "
        "path_prefix: /v1/ } }\n");

    EXPECT_EQ(gateway.post("/name/chat/completions", chat_body()).status, 200);
    EXPECT_EQ(model.stats()["last_sni"], "fake.test");
    EXPECT_EQ(gateway.post("/ip/chat/completions", chat_body()).status, 200);
    EXPECT_EQ(model.stats()["last_sni"], "");  // no SNI for an address (RFC 6066)
    const auto wrong = gateway.post("/wrong/chat/completions", chat_body());
    EXPECT_EQ(wrong.status, 502);
    EXPECT_EQ(wrong.json()["error"]["code"], "upstream_tls_error");
    EXPECT_EQ(model.stats()["requests_total"], 2);
    EXPECT_THAT(gateway.process().stderr_text(), HasSubstr("hostname mismatch"));
}

TEST_F(Tls, AnUntrustedUpstreamCertificateIsA502ThatOpensTheCircuit) {
    auto model = https_fake();
    auto gateway = RunningGateway::start(one_backend(
        model.url("localhost"), "    tls: { ca_file: \"" + pki.other_ca_cert +
                                    "\" }\n    circuit_breaker: { failure_threshold: 2 }\n"));
    for (int i = 0; i < 2; ++i) {
        const auto answer = gateway.post("/v1/chat/completions", chat_body());
        EXPECT_EQ(answer.status, 502) << i;
        EXPECT_EQ(answer.json()["error"]["code"], "upstream_tls_error");
    }
    // Two failed connects opened the circuit, as refused connections would.
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 503);
    ASSERT_TRUE(gateway.wait_for_access_lines(3, 5s));
    EXPECT_FALSE(gateway.access_line_where("error", "upstream_tls_error").is_null());
    const auto stats = model.stats();
    EXPECT_EQ(stats["requests_total"], 0);  // nothing was sent to an unverified server
    EXPECT_GE(stats["tls_handshake_failures"].get<int>(), 2);
    EXPECT_THAT(gateway.process().stderr_text(), HasSubstr("certificate verification failed"));
}

TEST_F(Tls, AFailedHandshakeIsRetriedOnAnotherEndpoint) {
    auto plain = FakeModel::start("plain");  // speaks HTTP, addressed as https://
    auto secure = https_fake("secure");
    auto gateway = RunningGateway::start(
        "backends:\n  m:\n    endpoints:\n      - { url: \"https://127.0.0.1:" +
        std::to_string(plain.port()) + "\" }\n      - { url: \"" + secure.url("localhost") +
        "\" }\n    tls: { ca_file: \"" + pki.ca_cert +
        "\" }\n    circuit_breaker: { failure_threshold: 100 }\n"
        "routes:\n  - { name: chat, backend: m }\n");
    for (int i = 0; i < 4; ++i) {
        const auto answer = gateway.post("/v1/chat/completions", chat_body());
        EXPECT_EQ(answer.status, 200) << i;
        EXPECT_EQ(answer.header("x-fake-server"), "secure");
    }
}

TEST_F(Tls, VerifyFalseAcceptsAnyCertificateWithAWarning) {
    auto model = https_fake();
    auto gateway =
        RunningGateway::start(one_backend(model.url("localhost"), "    tls: { verify: false }\n"));
    EXPECT_EQ(gateway.post("/v1/chat/completions", chat_body()).status, 200);
    EXPECT_THAT(gateway.process().stderr_text(), HasSubstr("tls.verify is false"));
}

TEST_F(Tls, HealthChecksAndHangUpsWorkAgainstHttpsEndpoints) {
    auto model = https_fake();
    auto gateway = RunningGateway::start(trusting_backend(
        model.url("localhost"),
        "    health_check: { path: /health, interval: 100ms, unhealthy_after: 1 }\n"));
    ASSERT_TRUE(eventually([&] { return model.stats()["by_path"].value("/health", 0) >= 2; }, 5s));
    https_request(model.port(), {}, {"POST", "/fake/health/fail"});
    ASSERT_TRUE(eventually(
        [&] { return gateway.post("/v1/chat/completions", chat_body()).status == 503; }, 5s));
    https_request(model.port(), {}, {"POST", "/fake/health/ok"});
    ASSERT_TRUE(eventually(
        [&] { return gateway.post("/v1/chat/completions", chat_body()).status == 200; }, 5s));

    // A client that leaves closes the TLS upstream connection: the model stops generating.
    EXPECT_THROW(
        http_stream(gateway.port(), chat_request(true, {{"x-fake-delay-ms", "5000"}}), 500ms),
        HttpError);
    EXPECT_TRUE(eventually([&] { return model.stats()["hang_ups_seen"] == 1; }, 3s));
}

TEST_F(Tls, UnusableFilesFailAtStartNamingTheFileLineAndKey) {
    auto check = [&](const std::string& yaml) {
        const auto path = dir.write("llmgw.yaml", yaml);
        std::string out, err;
        const auto code = run_to_exit(LLMGW_BINARY, {"--config", path, "--check"}, 5s, &out, &err);
        EXPECT_EQ(code, 1) << err;
        return err;
    };
    const std::string backends =
        "backends:\n  m:\n    endpoints: [ { url: \"http://127.0.0.1:1\" } ]\n"
        "routes:\n  - { name: r, backend: m }\n";
    EXPECT_THAT(
        check("server:\n  tls:\n    cert_file: /nonexistent/tls.crt\n    key_file: \"" +
              pki.server_key + "\"\n" + backends),
        HasSubstr("llmgw.yaml:3: server.tls.cert_file: cannot read \"/nonexistent/tls.crt\""));
    EXPECT_THAT(check("server:\n  tls:\n    cert_file: \"" + pki.server_cert +
                      "\"\n    key_file: \"" + pki.unrelated_key + "\"\n" + backends),
                HasSubstr("llmgw.yaml:4: server.tls.key_file: the key in \"" + pki.unrelated_key +
                          "\" does not match the certificate"));
    EXPECT_THAT(check("server:\n  tls:\n    cert_file: \"" + pki.server_key +
                      "\"\n    key_file: \"" + pki.server_key + "\"\n" + backends),
                HasSubstr("llmgw.yaml:3: server.tls.cert_file: \"" + pki.server_key +
                          "\" is not a usable PEM certificate"));
    EXPECT_THAT(check("backends:\n  m:\n    endpoints: [ { url: \"https://127.0.0.1:1\" } ]\n"
                      "    tls: { ca_file: \"" +
                      pki.server_key +
                      "\" }\n"
                      "routes:\n  - { name: r, backend: m }\n"),
                HasSubstr("llmgw.yaml:4: backends.m.tls.ca_file: \"" + pki.server_key +
                          "\" holds no usable PEM certificate"));

    // Starting for real fails the same way, before any port is bound.
    const auto path = dir.write(
        "start.yaml",
        "server:\n  tls: { cert_file: /nonexistent/tls.crt, key_file: x.key }\n" + backends);
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path}, 5s, &out, &err), 1);
    EXPECT_THAT(err, HasSubstr("start.yaml:2: server.tls.cert_file: cannot read"));
}

TEST_F(Tls, AReloadRenewsTheCertificateForNewConnectionsOnly) {
    namespace fs = std::filesystem;
    const auto live_cert = dir.file("live.crt");
    const auto live_key = dir.file("live.key");
    fs::copy_file(pki.server_cert, live_cert);
    fs::copy_file(pki.server_key, live_key);
    auto model = FakeModel::start("plain");
    const auto sections = one_backend(model.url());
    auto gateway = RunningGateway::start(
        sections, {.server_extra = "  tls: { cert_file: \"" + live_cert + "\", key_file: \"" +
                                   live_key + "\" }\n"});
    HttpConnection before(gateway.port(), trusting_client());
    ASSERT_EQ(before.send(chat_request(false)).status, 200);

    // Renewed files at the same paths, from another CA, then a reload.
    TempDir renewed_dir;
    const auto renewed = make_test_pki(renewed_dir);
    fs::copy_file(renewed.server_cert, live_cert, fs::copy_options::overwrite_existing);
    fs::copy_file(renewed.server_key, live_key, fs::copy_options::overwrite_existing);
    gateway.rewrite_config(sections);
    ASSERT_EQ(http_request(gateway.admin_port(), {"POST", "/admin/reload"}).status, 200);

    const TlsClientOptions trusting_renewed{.ca_file = renewed.ca_cert};
    EXPECT_EQ(https_request(gateway.port(), trusting_renewed, chat_request(false)).status, 200);
    EXPECT_THROW(HttpConnection(gateway.port(), trusting_client()), HttpError);
    EXPECT_EQ(before.send(chat_request(false)).status, 200);  // open connections keep theirs

    // An unusable certificate refuses the reload: the running one stays.
    fs::copy_file(renewed.server_key, live_cert, fs::copy_options::overwrite_existing);
    const auto refused = http_request(gateway.admin_port(), {"POST", "/admin/reload"});
    EXPECT_EQ(refused.status, 400);
    EXPECT_THAT(refused.json()["error"]["message"].get<std::string>(),
                HasSubstr("server.tls.cert_file: \"" + live_cert + "\" is not a usable PEM"));
    EXPECT_EQ(https_request(gateway.port(), trusting_renewed, chat_request(false)).status, 200);
}
