// The request steps of the pipeline driven without sockets (as Envoy's filter tests): a real
// config, snapshot, limiter, metrics and cache, a body handed over on demand, and a client
// that records what it was sent.
#include "llmgw/gateway/pipeline.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include "llmgw/cache/cache_key.hpp"
#include "llmgw/config/loader.hpp"
#include "llmgw/http/hang_up.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/upstream/upstream_request.hpp"
#include "support/ports.hpp"
#include "support/recorded_head.hpp"

namespace net = boost::asio;
using namespace llmgw;

namespace {

const std::string key = "sk-pipeline-test";

std::string sha256_hex(const std::string& text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (auto byte : digest) {
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    }
    return out;
}

// What reached "the client".
class RecordingClient final : public http::ClientWriter {
public:
    std::optional<bool> head_now(http::ResponseHead& head, std::string_view lines, Framing,
                                 HeadTiming) override {
        this->head = llmgw::testing::recorded_head(head, lines);
        status_ = static_cast<int>(head.result_int());
        return true;
    }
    std::optional<bool> body_now(std::string_view data) override {
        bytes_ += data.size();
        return true;
    }
    std::optional<bool> finish_now() override { return true; }
    http::Task<bool> flush() override { co_return true; }
    void abort() override {}
    bool take_back_head() override { return false; }
    bool chunked() const override { return false; }
    http::Task<bool> send_error(const http::GatewayError& error, std::string_view) override {
        this->error = error;
        status_ = error.status;
        co_return true;
    }
    void close_after() override { closes = true; }
    http::HangUp& hang_up() override { return hang_up_; }
    int status() const override { return status_; }
    std::uint64_t body_bytes() const override { return bytes_; }

    std::optional<http::GatewayError> error;
    http::ResponseHead head;
    bool closes = false;

private:
    http::HangUp hang_up_;
    int status_ = 0;
    std::uint64_t bytes_ = 0;
};

struct FixedSnapshot final : gateway::SnapshotSource {
    std::shared_ptr<gateway::Snapshot> current;
    std::shared_ptr<gateway::Snapshot> snapshot() const override { return current; }
};

// One worker's pipeline over `yaml`, with no network: no step here reaches an upstream.
class PipelineUnderTest {
public:
    explicit PipelineUnderTest(const std::string& yaml)
        : config_(std::make_shared<const config::Config>(config::load_string(yaml))),
          cache_(config_->cache, metrics_.registry()),
          pool_(io_.get_executor()),
          admission_(limiter_, ledger_, *config_, io_.get_executor(), metrics_, nullptr),
          pipeline_(services(), pool_, admission_, nullptr) {}

    struct Outcome {
        RecordingClient client;
        bool body_read = false;
        observability::AccessRecord record;
    };

    // Runs one request; `body_read_result` is what reading its body comes to.
    // `seen`, when given, points at the request as the steps left it, with the forwarding
    // headers the upstream gets after its fields (valid until next run).
    std::unique_ptr<Outcome> run(http::Request request,
                                 http::BodyRead body_read_result = {true, {}},
                                 http::Request** seen = nullptr) {
        auto result = std::make_unique<Outcome>();
        auto& outcome = *result;
        request.prepare_payload();
        auto read = [&]() -> http::Task<http::BodyRead> {
            outcome.body_read = true;
            co_return body_read_result;
        };
        // Never at once: the pipeline's awaited read is what the outcome records.
        auto read_now = []() -> std::optional<http::BodyRead> { return std::nullopt; };
        http::RequestBody body(!request.body().empty(), read_now, read);
        gateway::RequestContext context(request, "127.0.0.1");
        net::co_spawn(io_, pipeline_.handle(context, body, outcome.client), net::detached);
        io_.restart();
        io_.run();
        outcome.record = context.record;
        upstream::insert_lines(request, context.upstream_lines);
        last_request_ = std::move(request);
        if (seen != nullptr) *seen = &last_request_;
        return result;
    }

    cache::SharedCache& cache() { return cache_; }
    limits::UsageLedger& ledger() { return ledger_; }
    limits::LocalLimiter& limiter() { return limiter_; }

private:
    gateway::PipelineServices services() {
        snapshots_.current = std::make_shared<gateway::Snapshot>(config_, 1, nullptr);
        return {snapshots_, metrics_, access_log_, drain_, cache_};
    }

    net::io_context io_;
    http::Request last_request_;
    std::shared_ptr<const config::Config> config_;
    observability::Metrics metrics_;
    observability::AccessLog access_log_{"off"};
    gateway::Drain drain_;
    cache::SharedCache cache_;
    FixedSnapshot snapshots_;
    limits::LocalLimiter limiter_;
    limits::UsageLedger ledger_;
    upstream::ConnectionPool pool_;
    limits::Admission admission_;
    gateway::Pipeline pipeline_;
};

http::Request post(const std::string& target, std::string body, bool with_key = true) {
    http::Request request{http::beast::http::verb::post, target, 11};
    request.set(http::beast::http::field::host, "gateway");
    if (with_key) request.set(http::beast::http::field::authorization, "Bearer " + key);
    request.body() = std::move(body);
    return request;
}

std::string config_with(const std::string& more) {
    return "tiers: { free: { rate: { requests_per_minute: 1 } }, pro: {} }\n"
           "consumers:\n"
           "  - { name: acme, tier: free, keys: [ { sha256: \"" +
           sha256_hex(key) + "\" } ] }\n" + more;
}

const std::string model_route =
    "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:9\" } ] } }\n"
    "routes:\n"
    "  - { name: pro-only, backend: b, match: { path_prefix: /v1/pro/ }, tiers: [pro] }\n"
    "  - { name: chat, backend: b, match: { path_prefix: /v1/chat/, model: m } }\n";

}  // namespace

TEST(PipelineSteps, MissingCredentialsAre401OnTheHeadAndTheBodyIsNeverRead) {
    PipelineUnderTest pipeline(config_with(model_route));
    auto outcome = pipeline.run(post("/v1/chat/completions", R"({"model":"m"})", false));
    ASSERT_TRUE(outcome->client.error);
    EXPECT_EQ(outcome->client.error->status, 401);
    EXPECT_FALSE(outcome->body_read);
    EXPECT_TRUE(outcome->client.closes);  // the unread body cannot be told from a next request
    EXPECT_EQ(outcome->record.status, 401);
    EXPECT_EQ(outcome->record.consumer, "");
}

TEST(PipelineSteps, ARefusedBodyIsAnsweredWithItsErrorAndTheConnectionCloses) {
    PipelineUnderTest pipeline(config_with(model_route));
    auto outcome = pipeline.run(post("/v1/chat/completions", R"({"model":"m"})"),
                                {false, http::make_error(http::ErrorCode::server_busy)});
    EXPECT_TRUE(outcome->body_read);
    ASSERT_TRUE(outcome->client.error);
    EXPECT_EQ(outcome->client.error->code, "server_busy");
    EXPECT_TRUE(outcome->client.closes);
    EXPECT_EQ(outcome->record.consumer, "acme");
}

TEST(PipelineSteps, AClientThatLeavesInItsBodyIsRecordedAs499AndSentNothing) {
    PipelineUnderTest pipeline(config_with(model_route));
    auto outcome = pipeline.run(post("/v1/chat/completions", R"({"model":"m"})"), {false, {}});
    EXPECT_FALSE(outcome->client.error);
    EXPECT_EQ(outcome->record.status, 499);
    EXPECT_EQ(outcome->record.error, "client_closed");
}

TEST(PipelineSteps, RoutingRefusesUnknownPathsBodiesWithoutJsonAndOtherTiers) {
    PipelineUnderTest pipeline(
        "tiers: { free: {}, pro: {} }\n"
        "consumers: [ { name: acme, tier: free, keys: [ { sha256: \"" + sha256_hex(key) +
        "\" } ] } ]\n" + model_route);
    auto unknown = pipeline.run(post("/v2/nothing", "{}"));
    ASSERT_TRUE(unknown->client.error);
    EXPECT_EQ(unknown->client.error->code, "route_not_found");
    auto not_json = pipeline.run(post("/v1/chat/completions", "model=m"));
    ASSERT_TRUE(not_json->client.error);
    EXPECT_EQ(not_json->client.error->code, "invalid_json");
    auto other_tier = pipeline.run(post("/v1/pro/completions", "{}"));
    ASSERT_TRUE(other_tier->client.error);
    EXPECT_EQ(other_tier->client.error->code, "route_not_allowed");
    EXPECT_EQ(other_tier->record.route, "pro-only");
}

TEST(PipelineSteps, AdmissionRefusesOverTheTierRateWithRetryAfterAndLimitHeaders) {
    PipelineUnderTest pipeline(config_with(model_route));
    // A path no route takes: an admitted request ends at 404, before any upstream.
    auto first = pipeline.run(post("/v2/completions", "{}"));
    ASSERT_TRUE(first->client.error);
    EXPECT_EQ(first->client.error->code, "route_not_found");
    EXPECT_EQ(first->record.rate_limit, "admitted");
    auto second = pipeline.run(post("/v2/completions", "{}"));
    ASSERT_TRUE(second->client.error);
    EXPECT_EQ(second->client.error->status, 429);
    EXPECT_GE(second->client.error->retry_after_seconds, 1);
    EXPECT_EQ(second->record.rate_limit, "refused");
    bool remaining = false;
    for (const auto& [name, value] : second->client.error->headers)
        remaining |= name == "x-ratelimit-remaining-requests" && value == "0";
    EXPECT_TRUE(remaining);
}

TEST(PipelineSteps, ARequestOverItsConsumersCapIs429AndTakesNoRateToken) {
    PipelineUnderTest pipeline(
        "tiers: { capped: { max_concurrent: 1, rate: { requests_per_minute: 1 } }, pro: {} }\n"
        "consumers: [ { name: acme, tier: capped, keys: [ { sha256: \"" + sha256_hex(key) +
        "\" } ] } ]\n" + model_route);
    auto& in_flight = pipeline.limiter().concurrency();
    {
        // Another request of acme is in flight (held here, as a worker would hold it).
        auto elsewhere = in_flight.try_acquire("acme", 1);
        auto refused = pipeline.run(post("/v2/completions", "{}"));
        ASSERT_TRUE(refused->client.error);
        EXPECT_EQ(refused->client.error->status, 429);
        EXPECT_EQ(refused->client.error->code, "concurrency_limit");
        EXPECT_EQ(refused->client.error->retry_after_seconds, 1);
        EXPECT_EQ(refused->record.error, "concurrency_limit");
        EXPECT_EQ(refused->record.rate_limit, "refused");
    }
    // The refusal took no token from the bucket of one a minute: this one is admitted (and
    // ends at 404), and its slot is given back when it ends.
    auto admitted = pipeline.run(post("/v2/completions", "{}"));
    ASSERT_TRUE(admitted->client.error);
    EXPECT_EQ(admitted->client.error->code, "route_not_found");
    EXPECT_EQ(admitted->record.rate_limit, "admitted");
    EXPECT_EQ(in_flight.in_flight("acme"), 0u);
    EXPECT_EQ(in_flight.consumers(), 0u);
    // Refused by the rate: it holds no slot either.
    auto rate_refused = pipeline.run(post("/v2/completions", "{}"));
    ASSERT_TRUE(rate_refused->client.error);
    EXPECT_EQ(rate_refused->client.error->code, "rate_limit_exceeded");
    EXPECT_EQ(in_flight.consumers(), 0u);
}

TEST(PipelineSteps, TransformRewritesPathModelAndHeadersAndAsksAStreamForItsUsage) {
    // The endpoint's port is closed: the forward fails at connect, after the transform.
    const auto closed_port = std::to_string(llmgw::testing::free_port());
    PipelineUnderTest pipeline(config_with(
        "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:" + closed_port + "\" } ] } }\n"
        "routes:\n"
        "  - name: chat\n"
        "    backend: b\n"
        "    match: { path_prefix: /llm/ }\n"
        "    rewrite: { path_prefix: /v1/, model: served-model }\n"
        "    headers: { set: { x-team: ml }, remove: [x-debug] }\n"));
    auto request = post("/llm/chat/completions?x=1",
                        R"({"model":"alias","stream":true,"messages":[]})");
    request.set("x-debug", "1");
    request.set(http::beast::http::field::connection, "keep-alive, x-hop");
    request.set("x-hop", "1");
    http::Request* seen = nullptr;
    auto outcome = pipeline.run(std::move(request), {true, {}}, &seen);
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(seen->target(), "/v1/chat/completions?x=1");
    const auto body = nlohmann::json::parse(seen->body());
    EXPECT_EQ(body["model"], "served-model");
    EXPECT_EQ(body["stream_options"]["include_usage"], true);  // asked on the client's behalf
    EXPECT_EQ((*seen)["x-team"], "ml");
    EXPECT_EQ(seen->count("x-debug"), 0u);
    EXPECT_EQ(seen->count("x-hop"), 0u);  // named by Connection: hop-by-hop
    EXPECT_EQ(seen->count(http::beast::http::field::authorization), 0u);  // the key stays here
    EXPECT_EQ((*seen)["x-request-id"], outcome->record.request_id);
    EXPECT_EQ(seen->count("x-request-id"), 1u);
    EXPECT_EQ((*seen)["x-forwarded-for"], "127.0.0.1");
    ASSERT_TRUE(outcome->client.error);
    EXPECT_EQ(outcome->client.error->code, "upstream_unavailable");
    EXPECT_EQ(outcome->record.attempts, 1u);
}

TEST(PipelineSteps, ACacheHitIsReplayedThroughTheResponseStepsAndSettledAsCached) {
    const auto closed_port = std::to_string(llmgw::testing::free_port());
    PipelineUnderTest pipeline(config_with(
        "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:" + closed_port + "\" } ] } }\n"
        "routes: [ { name: chat, backend: b, match: { path_prefix: /v1/ }, "
        "cache: { ttl: 10m } } ]\n"));
    const std::string body = R"({"model":"m","messages":[]})";
    const auto json = nlohmann::json::parse(body);
    const auto key = cache::cache_key({"chat", "POST", "/v1/chat/completions", "", false, &json, body});
    auto answer = std::make_shared<cache::CachedAnswer>();
    answer->route = "chat";
    answer->headers = {{"content-type", "application/json"}};
    answer->body = R"({"id":"from-the-cache"})";
    answer->stored_at = cache::Clock::now();
    answer->expires_at = answer->stored_at + std::chrono::minutes(10);
    ASSERT_TRUE(pipeline.cache().memory.insert(key, answer));

    auto outcome = pipeline.run(post("/v1/chat/completions", body));
    EXPECT_FALSE(outcome->client.error);  // the closed endpoint was never tried
    EXPECT_EQ(outcome->client.status(), 200);
    EXPECT_EQ(outcome->client.head["x-cache"], "HIT");
    EXPECT_EQ(outcome->client.head["content-type"], "application/json");
    EXPECT_EQ(outcome->client.head["x-ratelimit-remaining-requests"], "0");  // admitted, counted
    EXPECT_EQ(outcome->client.body_bytes(), answer->body.size());
    EXPECT_EQ(outcome->record.cache, "hit");
    EXPECT_EQ(outcome->record.attempts, 0u);
    const auto today = limits::UsageLedger::day_of(std::chrono::system_clock::now());
    const auto usage = pipeline.ledger().query("acme", today, today);
    ASSERT_EQ(usage.size(), 1u);
    EXPECT_EQ(usage.front().requests, 1u);
    EXPECT_EQ(usage.front().cached, 1u);
    EXPECT_EQ(usage.front().prompt_tokens, 0u);
}
