// The configuration contract: what loads, and how every mistake is reported (file, line, key).
#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

using namespace std::chrono_literals;
using llmgw::config::ConfigError;
using llmgw::config::load_string;
using testing::HasSubstr;

namespace {

constexpr const char* minimal = R"(backends:
  vllm:
    endpoints:
      - url: "http://127.0.0.1:8000"
routes:
  - name: all
    backend: vllm
)";

std::string load_error(const std::string& yaml) { return llmgw::config::testing::load_error(yaml, "test.yaml"); }

}  // namespace

TEST(ConfigLoader, MinimalConfigGetsTheDocumentedDefaults) {
    const auto config = load_string(minimal);
    EXPECT_EQ(config.server.listen.host, "0.0.0.0");
    EXPECT_EQ(config.server.listen.port, 8080);
    EXPECT_GE(config.server.workers, 1u);
    EXPECT_EQ(config.server.max_header_bytes, 16u * 1024);
    EXPECT_EQ(config.server.max_body_bytes, 8u * 1024 * 1024);
    EXPECT_EQ(config.server.header_timeout, 10s);
    EXPECT_EQ(config.server.idle_timeout, 75s);
    EXPECT_EQ(config.admin.listen.port, 9090);
    ASSERT_EQ(config.backends.size(), 1u);
    EXPECT_EQ(config.backends[0].endpoints[0].host, "127.0.0.1");
    EXPECT_EQ(config.backends[0].endpoints[0].port, 8000);
    EXPECT_EQ(config.backends[0].endpoints[0].weight, 1u);
    ASSERT_EQ(config.routes.size(), 1u);
    EXPECT_EQ(config.routes[0].match.path_prefix, "/");
    EXPECT_EQ(config.logging.access_log, "stdout");
}

TEST(ConfigLoader, ReadsEveryDocumentedField) {
    const auto config = load_string(R"(
server:
  listen: "127.0.0.1:18080"
  workers: 3
  max_header_bytes: 8KiB
  max_body_bytes: 2MiB
  header_timeout: 2s
  body_timeout: 30s
  idle_timeout: 5s
  drain_timeout: 1m
admin:
  listen: "[::1]:19090"
  token: secret-admin
backends:
  a:
    endpoints:
      - { url: "http://10.0.0.1:8000", weight: 3 }
      - { url: "http://model-b:9000/" }
    balancer: weighted
    timeouts: { connect: 250ms, first_byte: 30s, idle: 10s, total: 2m }
routes:
  - name: chat
    match:
      path_prefix: /v1/
      headers: { X-Model-Version: "1" }
      model: llama-3-8b
    backend: a
    rewrite: { path_prefix: /v2/, model: meta-llama/Meta-Llama-3-8B-Instruct }
    headers: { set: { X-Team: ml }, remove: [X-Debug] }
logging: { level: debug, access_log: off }
)");
    EXPECT_EQ(config.server.listen.port, 18080);
    EXPECT_EQ(config.server.workers, 3u);
    EXPECT_EQ(config.server.max_header_bytes, 8u * 1024);
    EXPECT_EQ(config.server.max_body_bytes, 2u * 1024 * 1024);
    EXPECT_EQ(config.server.header_timeout, 2s);
    EXPECT_EQ(config.server.drain_timeout, 60s);
    EXPECT_EQ(config.admin.listen.host, "::1");
    EXPECT_EQ(config.admin.token, "secret-admin");
    const auto& backend = config.backends[0];
    EXPECT_EQ(backend.name, "a");
    EXPECT_EQ(backend.endpoints[0].weight, 3u);
    EXPECT_EQ(backend.endpoints[1].host, "model-b");
    EXPECT_EQ(backend.endpoints[1].port, 9000);
    EXPECT_EQ(backend.balancer, llmgw::config::BalancerKind::weighted);
    EXPECT_EQ(backend.timeouts.connect, 250ms);
    EXPECT_EQ(backend.timeouts.total, 120s);
    const auto& route = config.routes[0];
    EXPECT_EQ(route.match.path_prefix, "/v1/");
    ASSERT_EQ(route.match.headers.size(), 1u);
    EXPECT_EQ(route.match.headers[0].first, "x-model-version");  // names compare case-insensitively
    EXPECT_EQ(route.match.model, "llama-3-8b");
    EXPECT_EQ(route.rewrite.path_prefix, "/v2/");
    EXPECT_EQ(route.rewrite.model, "meta-llama/Meta-Llama-3-8B-Instruct");
    EXPECT_EQ(route.headers.set[0].first, "x-team");
    EXPECT_EQ(route.headers.remove[0], "x-debug");
    EXPECT_EQ(config.logging.level, llmgw::config::LogLevel::debug);
    EXPECT_EQ(config.logging.access_log, "off");
}

TEST(ConfigLoader, SubstitutesEnvironmentVariables) {
    setenv("LLMGW_TEST_UPSTREAM_PORT", "8123", 1);
    setenv("LLMGW_TEST_TOKEN", "tok-from-env", 1);
    const auto config =
        load_string(std::string(minimal) + "admin: { token: \"${LLMGW_TEST_TOKEN}\" }\n");
    EXPECT_EQ(config.admin.token, "tok-from-env");
    const auto with_port = load_string(R"(backends:
  vllm:
    endpoints: [ { url: "http://127.0.0.1:${LLMGW_TEST_UPSTREAM_PORT}" } ]
routes: [ { name: all, backend: vllm } ]
)");
    EXPECT_EQ(with_port.backends[0].endpoints[0].port, 8123);
}

TEST(ConfigLoader, UnsetVariableIsAnErrorNamingVariableKeyAndLine) {
    unsetenv("LLMGW_TEST_UNSET");
    const auto error = load_error(std::string(minimal) + "admin:\n  token: ${LLMGW_TEST_UNSET}\n");
    EXPECT_THAT(error, HasSubstr("test.yaml:9: admin.token:"));
    EXPECT_THAT(error, HasSubstr("${LLMGW_TEST_UNSET} is not set"));
}

TEST(ConfigLoader, UnknownKeyNamesTheKeyAndItsLine) {
    EXPECT_THAT(
        load_error(std::string(minimal) + "server:\n  listen: \"0.0.0.0:1\"\n  max_body: 1MiB\n"),
        HasSubstr("test.yaml:10: server.max_body: unknown key"));
    EXPECT_THAT(load_error(std::string("colour: blue\n") + minimal),
                HasSubstr("test.yaml:1: colour: unknown key"));
}

TEST(ConfigLoader, UnknownKeyInsideAListItemNamesTheItem) {
    const auto error = load_error(R"(backends:
  vllm:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
routes:
  - name: all
    backend: vllm
    mach: { path_prefix: /v1 }
)");
    EXPECT_THAT(error, HasSubstr("test.yaml:7: routes[0].mach: unknown key"));
}

TEST(ConfigLoader, WrongTypesAreErrors) {
    EXPECT_THAT(load_error(std::string(minimal) + "server:\n  workers: many\n"),
                HasSubstr("test.yaml:9: server.workers: expected an integer"));
    EXPECT_THAT(load_error(std::string(minimal) + "server: [1, 2]\n"),
                HasSubstr("server: expected a mapping"));
    EXPECT_THAT(load_error(std::string(minimal) + "admin:\n  token: { a: b }\n"),
                HasSubstr("admin.token: expected a string"));
    EXPECT_THAT(load_error(R"(backends:
  vllm:
    endpoints: "http://127.0.0.1:1"
routes: [ { name: all, backend: vllm } ]
)"),
                HasSubstr("test.yaml:3: backends.vllm.endpoints: expected a list"));
}

TEST(ConfigLoader, BadDurationsAndSizesAreErrors) {
    EXPECT_THAT(load_error(std::string(minimal) + "server:\n  header_timeout: 10\n"),
                HasSubstr("test.yaml:9: server.header_timeout: invalid duration \"10\""));
    EXPECT_THAT(load_error(std::string(minimal) + "server:\n  max_body_bytes: 8MB\n"),
                HasSubstr("test.yaml:9: server.max_body_bytes: invalid size \"8MB\""));
    EXPECT_THAT(load_error(std::string(minimal) + "server:\n  idle_timeout: 0s\n"),
                HasSubstr("server.idle_timeout: must be greater than 0"));
}

TEST(ConfigLoader, UnknownBackendNameIsAnError) {
    const auto error = load_error(R"(backends:
  vllm:
    endpoints: [ { url: "http://127.0.0.1:1" } ]
routes:
  - name: all
    backend: triton
)");
    EXPECT_THAT(error, HasSubstr("test.yaml:6: routes[0].backend: unknown backend \"triton\""));
}

TEST(ConfigLoader, RefusesBadEndpointsListenAddressesAndPrefixes) {
    auto with_url = [](const std::string& url) {
        return load_error("backends:\n  b:\n    endpoints: [ { url: \"" + url +
                          "\" } ]\nroutes: [ { name: r, backend: b } ]\n");
    };
    EXPECT_THAT(with_url("ftp://x:1"), HasSubstr("expected an http:// or https:// URL"));
    EXPECT_THAT(with_url("http://x:99999"), HasSubstr("invalid port"));
    EXPECT_THAT(with_url("http://x:1/v1"), HasSubstr("an endpoint URL has no path"));
    EXPECT_EQ(with_url("https://x:1"), "");  // TLS, checked against the system's CAs
    EXPECT_THAT(load_error(std::string(minimal) + "server: { listen: \"8080\" }\n"),
                HasSubstr("expected \"host:port\""));
    EXPECT_THAT(load_error(R"(backends: { b: { endpoints: [ { url: "http://x:1" } ] } }
routes: [ { name: r, backend: b, match: { path_prefix: v1 } } ]
)"),
                HasSubstr("routes[0].match.path_prefix: must start with \"/\""));
}

TEST(ConfigLoader, RefusesDuplicateRouteNamesAndMissingRequiredKeys) {
    EXPECT_THAT(load_error(R"(backends: { b: { endpoints: [ { url: "http://x:1" } ] } }
routes:
  - { name: r, backend: b }
  - { name: r, backend: b }
)"),
                HasSubstr("test.yaml:4: routes[1].name: duplicate route name \"r\""));
    EXPECT_THAT(load_error("routes: []\n"), HasSubstr("missing required key \"backends\""));
    EXPECT_THAT(load_error(R"(backends: { b: { endpoints: [ { url: "http://x:1" } ] } }
routes: [ { backend: b } ]
)"),
                HasSubstr("routes[0]: missing required key \"name\""));
}

TEST(ConfigLoader, RoutesCannotEditHeadersTheGatewayManages) {
    auto with_headers = [](const std::string& headers) {
        return load_error(
            "backends: { b: { endpoints: [ { url: \"http://x:1\" } ] } }\n"
            "routes: [ { name: r, backend: b, headers: " +
            headers + " } ]\n");
    };
    EXPECT_THAT(with_headers("{ set: { host: evil } }"),
                HasSubstr("this header is managed by the gateway"));
    EXPECT_THAT(with_headers("{ set: { x-forwarded-for: 1.2.3.4 } }"),
                HasSubstr("managed by the gateway"));
    EXPECT_THAT(with_headers("{ remove: [Transfer-Encoding] }"),
                HasSubstr("managed by the gateway"));
    EXPECT_THAT(with_headers("{ remove: [connection] }"), HasSubstr("managed by the gateway"));
    EXPECT_EQ(with_headers("{ set: { authorization: \"Bearer upstream\" }, remove: [x-debug] }"),
              "");
}

TEST(ConfigLoader, ErrorsQuoteValuesAsWrittenNotAfterSubstitution) {
    setenv("LLMGW_TEST_SECRET_BALANCER", "s3cr3t-balancer", 1);
    const auto error = load_error(R"(backends:
  b:
    endpoints: [ { url: "http://x:1" } ]
    balancer: ${LLMGW_TEST_SECRET_BALANCER}
routes: [ { name: r, backend: b } ]
)");
    EXPECT_THAT(error, HasSubstr("${LLMGW_TEST_SECRET_BALANCER}"));
    EXPECT_THAT(error, testing::Not(HasSubstr("s3cr3t-balancer")));
}

TEST(ConfigLoader, ReadsResilienceSettings) {
    const auto config = load_string(R"(backends:
  b:
    endpoints: [ { url: "http://x:1" } ]
    balancer: least_request
    health_check: { path: /v2/health/ready, interval: 2s, timeout: 500ms, unhealthy_after: 3, healthy_after: 2 }
    circuit_breaker: { failure_threshold: 4, open_for: 15s, half_open_requests: 2, max_concurrent: 64 }
    retries: { attempts: 2, on: [connect_failure, reset, 502, 503, timeout] }
routes: [ { name: r, backend: b } ]
)");
    const auto& b = config.backends[0];
    EXPECT_EQ(b.balancer, llmgw::config::BalancerKind::least_request);
    ASSERT_TRUE(b.health_check);
    EXPECT_EQ(b.health_check->path, "/v2/health/ready");
    EXPECT_EQ(b.health_check->unhealthy_after, 3u);
    EXPECT_EQ(b.circuit_breaker.max_concurrent, 64u);
    EXPECT_EQ(b.circuit_breaker.open_for, 15s);
    EXPECT_EQ(b.retries.attempts, 2u);
    EXPECT_TRUE(b.retries.allows(llmgw::config::RetryOn::timeout));
    EXPECT_THAT(
        load_error(
            R"(backends: { b: { endpoints: [ { url: "http://x:1" } ], retries: { on: [500] } } }
routes: [ { name: r, backend: b } ]
)"),
        HasSubstr("expected connect_failure, reset, 502, 503 or timeout"));
}

TEST(ConfigLoader, ReadsRedisAndNeverQuotesItsUrl) {
    const auto config = load_string(
        std::string(minimal) +
        "redis: { url: \"redis://:pw@10.0.0.5:6380/2\", timeout: 20ms, failure_mode: closed }\n");
    ASSERT_TRUE(config.redis);
    EXPECT_EQ(config.redis->host, "10.0.0.5");
    EXPECT_EQ(config.redis->port, 6380);
    EXPECT_EQ(config.redis->password, "pw");
    EXPECT_EQ(config.redis->db, 2);
    EXPECT_EQ(config.redis->timeout, 20ms);
    EXPECT_EQ(config.redis->failure_mode, llmgw::config::RedisConfig::FailureMode::closed);
    const auto error =
        load_error(std::string(minimal) + "redis: { url: \"redis://:hunter2@host:notaport\" }\n");
    EXPECT_THAT(error, HasSubstr("redis.url:"));
    EXPECT_THAT(error, testing::Not(HasSubstr("hunter2")));
    EXPECT_THAT(
        load_error(std::string(minimal) + "redis: { url: \"redis://h:1\", failure_mode: maybe }\n"),
        HasSubstr("expected open or closed"));
}

TEST(ConfigLoader, TrustedProxiesMustBeAddressesOrCidrs) {
    EXPECT_EQ(load_string(std::string(minimal) + "server: { trusted_proxies: [10.0.0.0/8, \"::1\"] }\n")
                  .server.trusted_proxies.size(),
              2u);
    EXPECT_THAT(load_error(std::string(minimal) + "server:\n  trusted_proxies: [10.0.0.0/40]\n"),
                HasSubstr("test.yaml:9: server.trusted_proxies: invalid address or CIDR \"10.0.0.0/40\""));
}

TEST(ConfigLoader, InvalidYamlAndEmptyFilesAreErrors) {
    EXPECT_THAT(load_error("server: [unclosed\n"), HasSubstr("test.yaml:2: invalid YAML"));
    EXPECT_THAT(load_error(""), HasSubstr("the configuration is empty"));
}

TEST(ConfigLoader, ErrorsDoNotEchoSubstitutedSecrets) {
    setenv("LLMGW_TEST_SECRET", "s3cr3t-value", 1);
    const auto error =
        load_error(std::string(minimal) + "server:\n  workers: ${LLMGW_TEST_SECRET}\n");
    EXPECT_THAT(error, HasSubstr("server.workers"));
    EXPECT_THAT(error, testing::Not(HasSubstr("s3cr3t-value")));
}
