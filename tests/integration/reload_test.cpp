// Hot reload (SIGHUP, POST /admin/reload), /admin/config redaction, and the SIGTERM drain,
// through the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <future>
#include <sstream>

#include "harness.hpp"
#include "support/ports.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* key = "sk-reload-test-1";

// One consumer, a route that stamps x-team on upstream requests, and a cached route.
std::string sections(const FakeModel& model, const std::string& team,
                     const std::string& extra_route = "") {
    return "tiers: { pro: {} }\n"
           "consumers: [ { name: acme, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(key) +
           "\" } ] } ]\n"
           "backends: { vllm: { endpoints: [ { url: \"" +
           model.url() +
           "\" } ] } }\n"
           "routes:\n"
           "  - { name: cached, backend: vllm, match: { path_prefix: /v1/chat/ }, cache: { ttl: "
           "10m } }\n" +
           extra_route + "  - { name: team, backend: vllm, match: { path_prefix: /v1/ }, headers: { set: { x-team: " +
           team + " } } }\n";
}

HttpHeaders auth(HttpHeaders headers = {}) {
    headers.emplace_back("authorization", std::string("Bearer ") + key);
    return headers;
}

// The x-team the upstream received for a request on the `team` route.
std::string team_seen(const RunningGateway& gateway) {
    const auto echo = gateway.post("/v1/completions", {{"model", "fake-model"}, {"prompt", "x"}},
                                   auth({{"x-fake-echo", "1"}}));
    if (echo.status != 200) return "status " + std::to_string(echo.status);
    return echo.json()["headers"].value("x-team", "");
}

nlohmann::json admin_config(const RunningGateway& gateway, HttpHeaders headers = {}) {
    return http_request(gateway.admin_port(), {"GET", "/admin/config", std::move(headers)}).json();
}

HttpResponse reload_by_admin(const RunningGateway& gateway) {
    return http_request(gateway.admin_port(), {"POST", "/admin/reload"});
}


HttpRequest slow_stream(int chunks, int interval_ms) {
    return {"POST",
            "/v1/chat/completions",
            auth({{"content-type", "application/json"},
                  {"cache-control", "no-store"},
                  {"x-fake-chunks", std::to_string(chunks)},
                  {"x-fake-chunk-interval-ms", std::to_string(interval_ms)}}),
            chat_body("fake-model", true).dump()};
}

}  // namespace

TEST(Reload, SighupAppliesTheNewFileToNewRequests) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(sections(model, "alpha"));
    EXPECT_EQ(team_seen(gateway), "alpha");
    EXPECT_EQ(admin_config(gateway)["version"], 1);
    gateway.rewrite_config(sections(model, "beta"));
    gateway.process().signal(SIGHUP);
    EXPECT_TRUE(eventually([&] { return admin_config(gateway)["version"] == 2; }));
    EXPECT_EQ(team_seen(gateway), "beta");
    EXPECT_TRUE(gateway.process().wait_for_output("configuration reloaded (version 2)", 5s));

    // POST /admin/reload does the same, and answers what it did.
    gateway.rewrite_config(sections(model, "gamma"));
    const auto reloaded = reload_by_admin(gateway);
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;
    EXPECT_EQ(reloaded.json()["version"], 3);
    EXPECT_EQ(reloaded.json()["restart_required"], nlohmann::json::array());
    EXPECT_EQ(team_seen(gateway), "gamma");
    EXPECT_TRUE(gateway.process().running());
}

TEST(Reload, AnInvalidFileKeepsTheRunningConfig) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(sections(model, "alpha"));
    gateway.rewrite_config(sections(model, "beta") + "routez: []\n");
    const auto refused = reload_by_admin(gateway);
    EXPECT_EQ(refused.status, 400);
    EXPECT_EQ(refused.json()["error"]["code"], "invalid_config");
    EXPECT_THAT(refused.json()["error"]["message"].get<std::string>(),
                HasSubstr("llmgw.yaml:15: routez: unknown key"));
    EXPECT_EQ(team_seen(gateway), "alpha");
    EXPECT_EQ(admin_config(gateway)["version"], 1);

    // A config that parses but cannot be built (a missing JWKS file) is refused the same way.
    gateway.rewrite_config(sections(model, "beta") +
                           "jwt: [ { issuer: i, audiences: [a], jwks_file: /nonexistent/jwks.json, "
                           "algorithms: [RS256], default_tier: pro } ]\n");
    EXPECT_EQ(reload_by_admin(gateway).status, 400);

    gateway.process().signal(SIGHUP);
    EXPECT_TRUE(gateway.process().wait_for_output("reload refused", 5s));
    EXPECT_EQ(team_seen(gateway), "alpha");
    EXPECT_TRUE(gateway.process().running());
}

TEST(Reload, UnderLoadWithOpenStreamsNothingFails) {
    auto model = FakeModel::start("m1", {"--threads", "2"});
    auto gateway = RunningGateway::start(sections(model, "t0"));
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    auto load = [&](bool keep_alive) {
        std::optional<HttpConnection> connection;
        while (!stop) {
            try {
                HttpRequest request{"POST", "/v1/completions",
                                    auth({{"content-type", "application/json"}}),
                                    R"({"model":"fake-model","prompt":"hi"})"};
                HttpResponse response;
                if (keep_alive) {
                    if (!connection) connection.emplace(gateway.port());
                    response = connection->send(request);
                } else {
                    response = http_request(gateway.port(), request);
                }
                if (response.status == 200) {
                    ++ok;
                } else {
                    ++failed;
                    std::lock_guard lock(failures_mutex);
                    failures.push_back(std::to_string(response.status) + " " + response.body);
                }
            } catch (const std::exception& e) {
                ++failed;
                std::lock_guard lock(failures_mutex);
                failures.emplace_back(e.what());
                connection.reset();
            }
        }
    };
    std::vector<std::future<void>> loaders;
    loaders.push_back(std::async(std::launch::async, load, true));
    loaders.push_back(std::async(std::launch::async, load, true));
    loaders.push_back(std::async(std::launch::async, load, false));
    // Streams of ~2.5 s, open across every reload.
    std::vector<std::future<StreamedResponse>> streams;
    for (int i = 0; i < 4; ++i)
        streams.push_back(std::async(std::launch::async, [&] {
            return http_stream(gateway.port(), slow_stream(50, 50), 20s);
        }));
    const std::string extra_backend_route =
        "  - { name: spare, backend: vllm, match: { path_prefix: /spare/ } }\n";
    for (int version = 2; version <= 7; ++version) {
        std::this_thread::sleep_for(400ms);  // the load runs between reloads
        gateway.rewrite_config(sections(model, "t" + std::to_string(version),
                                        version % 2 == 0 ? extra_backend_route : ""));
        const auto reloaded = reload_by_admin(gateway);
        ASSERT_EQ(reloaded.status, 200) << reloaded.body;
        EXPECT_EQ(reloaded.json()["version"], version);
    }
    for (auto& stream : streams) {
        const auto response = stream.get();
        EXPECT_EQ(response.status, 200);
        EXPECT_TRUE(response.complete) << response.error;
        const auto events = sse_data_lines(response.body());
        ASSERT_FALSE(events.empty());
        EXPECT_EQ(events.back(), "[DONE]");
    }
    stop = true;
    for (auto& loader : loaders) loader.get();
    EXPECT_EQ(failed.load(), 0) << (failures.empty() ? "" : failures.front());
    EXPECT_GT(ok.load(), 50);
    EXPECT_EQ(team_seen(gateway), "t7");
}

TEST(Reload, StateOfUnchangedPartsCarriesOver) {
    auto model = FakeModel::start("m1");
    const auto down = "http://127.0.0.1:" + std::to_string(free_port());
    const auto with_down_backend = [&](const std::string& team, const std::string& cache_ttl) {
        auto text = sections(model, team);
        text.replace(text.find("ttl: 10m"), 8, "ttl: " + cache_ttl);
        text.replace(text.find("backends: {"), 11,
                     "backends: { down: { endpoints: [ { url: \"" + down +
                         "\" } ], health_check: { path: /health, interval: 100ms, timeout: "
                         "100ms, unhealthy_after: 1 } },");
        return text;
    };
    auto gateway = RunningGateway::start(with_down_backend("alpha", "10m"));
    auto down_healthy = [&] {
        const auto backends =
            http_request(gateway.admin_port(), {"GET", "/admin/backends"}).json()["backends"];
        for (const auto& backend : backends)
            if (backend["name"] == "down") return backend["endpoints"][0]["healthy"].get<bool>();
        return true;
    };
    ASSERT_TRUE(eventually([&] { return !down_healthy(); }));
    const auto chat = [&] {
        return gateway.post("/v1/chat/completions", chat_body(), auth());
    };
    EXPECT_EQ(chat().header("x-cache"), "MISS");
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    EXPECT_EQ(chat().header("x-cache"), "HIT");

    // Only the team route changes: the unchanged backend keeps its health, the unchanged
    // cached route keeps its answers.
    gateway.rewrite_config(with_down_backend("beta", "10m"));
    ASSERT_EQ(reload_by_admin(gateway).status, 200);
    EXPECT_FALSE(down_healthy());
    EXPECT_EQ(chat().header("x-cache"), "HIT");

    // The cached route changes: its old answers go.
    gateway.rewrite_config(with_down_backend("beta", "5m"));
    ASSERT_EQ(reload_by_admin(gateway).status, 200);
    EXPECT_EQ(chat().header("x-cache"), "MISS");
}

TEST(Reload, ChangesThatNeedARestartAreReportedNotApplied) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(sections(model, "alpha"));
    gateway.rewrite_config(sections(model, "beta") + "cache: { max_bytes: 1MiB }\n");
    const auto reloaded = reload_by_admin(gateway);
    ASSERT_EQ(reloaded.status, 200);
    EXPECT_EQ(reloaded.json()["restart_required"], nlohmann::json::array({"cache"}));
    EXPECT_EQ(team_seen(gateway), "beta");
    EXPECT_TRUE(gateway.process().wait_for_output("need a restart: cache", 5s));
}

TEST(AdminConfig, ShowsTheRunningConfigWithSecretsRedacted) {
    auto redis = RedisServer::start({"--requirepass", "redis-pass-9"});
    auto model = FakeModel::start("m1");
    GatewayOptions options;
    options.admin_extra = "  token: ${ADMIN_TOKEN}\n";
    options.env = {{"ADMIN_TOKEN", "admin-token-5"},
                   {"JWT_SECRET", "jwt-hmac-secret-0123456789abcdef"},
                   {"ACME_KEY", "sk-env-key-3"}};
    auto text = sections(model, "alpha");
    text.replace(text.find("x-team: alpha"), 13,
                 "x-team: alpha, authorization: \"Bearer upstream-key-4\"");
    text += "redis: { url: \"redis://:redis-pass-9@127.0.0.1:" + std::to_string(redis.port()) +
            "\" }\n"
            "jwt: [ { issuer: i, audiences: [a], secret: \"${JWT_SECRET}\", algorithms: [HS256], "
            "default_tier: pro } ]\n";
    text.replace(text.find("keys: [ {"), 9, "keys: [ { env: ACME_KEY }, {");
    auto gateway = RunningGateway::start(text, options);

    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/admin/config"}).status, 401);
    const auto response = http_request(
        gateway.admin_port(),
        {"GET", "/admin/config", {{"authorization", "Bearer admin-token-5"}}});
    ASSERT_EQ(response.status, 200) << response.body;
    for (const auto* secret : {"admin-token-5", "jwt-hmac-secret", "redis-pass-9",
                               "upstream-key-4", "sk-env-key-3", key})
        EXPECT_THAT(response.body, testing::Not(HasSubstr(secret))) << secret;
    EXPECT_THAT(response.body, testing::Not(HasSubstr(sha256_hex(key))));
    const auto config = response.json()["config"];
    EXPECT_EQ(config["admin"]["token"], "<redacted>");
    EXPECT_EQ(config["redis"]["password"], "<redacted>");
    EXPECT_EQ(config["jwt"][0]["secret"], "<redacted>");
    EXPECT_EQ(config["consumers"][0]["keys"], 2);
    EXPECT_EQ(config["routes"][1]["headers"]["set"]["authorization"], "<redacted>");
    EXPECT_EQ(config["routes"][0]["cache"]["ttl"], "10m");
    EXPECT_EQ(config["backends"]["vllm"]["endpoints"][0]["url"], model.url());
    EXPECT_EQ(config["server"]["listen"], "127.0.0.1:" + std::to_string(gateway.port()));
}

// A gateway with `drain_timeout`, a stream of `chunks` events 50 ms apart in flight, and then
// SIGTERM.
struct DrainingWithAStream {
    DrainingWithAStream(const std::string& drain_timeout, int chunks)
        : model(FakeModel::start("m1")),
          gateway(RunningGateway::start(sections(model, "alpha"),
                                        GatewayOptions{"  drain_timeout: " + drain_timeout + "\n"})) {
        stream = std::async(std::launch::async, [this, chunks] {
            return http_stream(gateway.port(), slow_stream(chunks, 50), 20s);
        });
        EXPECT_TRUE(eventually([&] { return model.stats()["in_flight"] == 1; }));
        signalled = std::chrono::steady_clock::now();
        gateway.process().signal(SIGTERM);
    }
    FakeModel model;
    RunningGateway gateway;
    std::future<StreamedResponse> stream;
    std::chrono::steady_clock::time_point signalled;
};

TEST(Drain, SigtermLetsAStreamFinishThenExitsZero) {
    DrainingWithAStream drain("10s", 30);
    auto& gateway = drain.gateway;
    // Not ready at once, so load balancers stop sending; the stream goes on.
    EXPECT_TRUE(eventually(
        [&] { return http_request(gateway.admin_port(), {"GET", "/readyz"}).status == 503; },
        1s));
    EXPECT_EQ(http_request(gateway.admin_port(), {"GET", "/readyz"}).json()["status"], "draining");
    const auto response = drain.stream.get();
    EXPECT_TRUE(response.complete) << response.error;
    EXPECT_EQ(sse_data_lines(response.body()).back(), "[DONE]");
    EXPECT_EQ(gateway.process().wait_exit(10s), 0);
}

TEST(Drain, StreamsLongerThanTheDrainTimeoutAreCut) {
    DrainingWithAStream drain("300ms", 200);
    EXPECT_EQ(drain.gateway.process().wait_exit(5s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - drain.signalled, 3s);
    EXPECT_FALSE(drain.stream.get().complete);
}

TEST(Reload, LoggingLevelAppliesAtOnce) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(sections(model, "alpha"));
    const auto config_with_level = [&](const std::string& level, const std::string& extra) {
        std::ifstream in(gateway.config_path());
        std::stringstream text;
        text << in.rdbuf();
        auto yaml = text.str();
        const auto at = yaml.find("  level: ");
        yaml.replace(at, yaml.find('\n', at) - at, "  level: " + level);
        std::ofstream(gateway.config_path(), std::ios::trunc) << yaml << extra;
    };
    // The harness writes `level: info`; from this reload on, only errors are written: the
    // reload's own info line already is not.
    config_with_level("error", "");
    const auto reloaded = reload_by_admin(gateway);
    ASSERT_EQ(reloaded.status, 200);
    EXPECT_EQ(reloaded.json()["version"], 2);
    EXPECT_EQ(reloaded.json()["restart_required"], nlohmann::json::array());
    config_with_level("error", "bogus: 1\n");
    EXPECT_EQ(reload_by_admin(gateway).status, 400);
    EXPECT_TRUE(gateway.process().wait_for_output("reload refused", 5s));
    EXPECT_THAT(gateway.process().stderr_text(),
                testing::Not(HasSubstr("configuration reloaded (version 2)")));
}
