// The response cache through the real binary: hits and misses, canonical keys, scopes, TTL,
// bypass, errors, eviction, streamed replay, coalescing, purges, and the Redis store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "harness.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {

constexpr const char* acme_key = "sk-cache-acme-1";
constexpr const char* globex_key = "sk-cache-globex-2";

std::string cached_config(const FakeModel& model, const std::string& route_cache,
                          const std::string& extra = "") {
    return "tiers: { pro: {} }\n"
           "consumers:\n"
           "  - { name: acme, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(acme_key) +
           "\" } ] }\n"
           "  - { name: globex, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(globex_key) +
           "\" } ] }\n"
           "backends: { vllm: { endpoints: [ { url: \"" +
           model.url() +
           "\" } ] } }\n"
           "routes:\n"
           "  - { name: chat, backend: vllm, match: { path_prefix: /v1/chat/ }, cache: " +
           route_cache +
           " }\n"
           "  - { name: other, backend: vllm, match: { path_prefix: /v1/ } }\n" + extra;
}

HttpResponse chat(const RunningGateway& gateway, const std::string& body,
                  const char* key = acme_key, HttpHeaders headers = {}) {
    headers.emplace_back("authorization", std::string("Bearer ") + key);
    headers.emplace_back("content-type", "application/json");
    return http_request(gateway.port(),
                        {"POST", "/v1/chat/completions", std::move(headers), body});
}

const std::string question =
    R"({"model":"fake-model","messages":[{"role":"user","content":"What is 2+2?"}]})";
// The same JSON, with other key order and whitespace.
const std::string same_question = R"({ "messages": [ { "content": "What is 2+2?",
    "role": "user" } ],   "model": "fake-model" })";

int upstream_requests(const FakeModel& model) { return model.stats()["requests_total"]; }

// Waits until `count` access-log lines exist (answers are stored before their line is written).
void settle(const RunningGateway& gateway, std::size_t count) {
    ASSERT_TRUE(gateway.wait_for_access_lines(count, 5s));
}

}  // namespace

TEST(Cache, SecondIdenticalRequestIsAHitWithoutCallingTheModel) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    const auto first = chat(gateway, question);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.header("x-cache"), "MISS");
    settle(gateway, 1);
    const auto second = chat(gateway, same_question);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.header("x-cache"), "HIT");
    EXPECT_EQ(second.json()["id"], first.json()["id"]);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(second.header("content-type"), first.header("content-type"));
    EXPECT_EQ(second.header("age"), "0");
    EXPECT_FALSE(second.header("x-request-id").empty());
    EXPECT_NE(second.header("x-request-id"), first.header("x-request-id"));
    EXPECT_EQ(upstream_requests(model), 1);
    // Any other difference is another question.
    const auto other = chat(gateway, R"({"model":"fake-model","messages":[{"role":"user","content":"What is 3+3?"}]})");
    EXPECT_EQ(other.header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 2);
    // Routes without a cache say nothing about it.
    const auto uncached = gateway.post("/v1/completions", {{"model", "fake-model"}, {"prompt", "x"}},
                                       {{"authorization", std::string("Bearer ") + acme_key}});
    EXPECT_EQ(uncached.status, 200);
    EXPECT_FALSE(uncached.has_header("x-cache"));

    settle(gateway, 4);
    EXPECT_EQ(gateway.access_line_where("request_id", second.header("x-request-id"))["cache"], "hit");
    EXPECT_EQ(gateway.access_line_where("request_id", first.header("x-request-id"))["cache"], "miss");
    const auto metrics = metrics_of(gateway);
    EXPECT_EQ(metric_value(metrics, R"(llmgw_cache_requests_total{result="hit",route="chat"})"), 1);
    EXPECT_EQ(metric_value(metrics, R"(llmgw_cache_requests_total{result="miss",route="chat"})"), 2);
    EXPECT_EQ(metric_value(metrics, R"(llmgw_cache_stored_total{route="chat"})"), 2);
    EXPECT_EQ(metric_value(metrics, "llmgw_cache_entries"), 2);
    EXPECT_GT(metric_value(metrics, "llmgw_cache_bytes"), 0);
    TempDir dir;
    const auto file = dir.write("metrics.txt", metrics);
    std::string out, err;
    EXPECT_EQ(run_to_exit("/bin/sh", {"-c", "promtool check metrics < " + file}, 20s, &out, &err), 0)
        << out << err;
}

// A hit's head is the miss's, header for header and in order, but for what belongs to one
// answer: its request id, x-cache, Age (added) and the upstream's Date (never replayed).
TEST(Cache, AHitsHeadIsTheMissesHeadButForItsOwnHeaders) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    const auto per_answer = [](const HttpHeaders& headers) {
        HttpHeaders kept;
        for (const auto& [name, value] : headers) {
            if (name == "date" || name == "age") continue;
            const bool own = name == "x-request-id" || name == "x-cache";
            kept.emplace_back(name, own ? "(own)" : value);
        }
        return kept;
    };
    const auto miss = chat(gateway, question);
    ASSERT_EQ(miss.status, 200) << miss.body;
    ASSERT_EQ(miss.header("x-cache"), "MISS");
    settle(gateway, 1);
    for (int i = 0; i < 3; ++i) {  // the first hit finds its key as the miss left it, then again
        const auto hit = chat(gateway, question);
        ASSERT_EQ(hit.header("x-cache"), "HIT");
        EXPECT_EQ(per_answer(hit.headers), per_answer(miss.headers));
        EXPECT_EQ(hit.header_values("age").size(), 1u);
        EXPECT_EQ(hit.body, miss.body);
    }
    EXPECT_EQ(upstream_requests(model), 1);
}

TEST(Cache, ConsumerScopeKeepsConsumersApartGlobalScopeShares) {
    auto model = FakeModel::start("m1");
    {
        auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m, scope: consumer }"));
        EXPECT_EQ(chat(gateway, question, acme_key).header("x-cache"), "MISS");
        settle(gateway, 1);
        EXPECT_EQ(chat(gateway, question, acme_key).header("x-cache"), "HIT");
        EXPECT_EQ(chat(gateway, question, globex_key).header("x-cache"), "MISS");
        settle(gateway, 3);
        EXPECT_EQ(chat(gateway, question, globex_key).header("x-cache"), "HIT");
        EXPECT_EQ(upstream_requests(model), 2);
    }
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m, scope: global }"));
    EXPECT_EQ(chat(gateway, question, acme_key).header("x-cache"), "MISS");
    settle(gateway, 1);
    EXPECT_EQ(chat(gateway, question, globex_key).header("x-cache"), "HIT");
}

TEST(Cache, EntriesExpireAfterTheirTtl) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 1s }"));
    const auto stored = std::chrono::steady_clock::now();
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "MISS");
    settle(gateway, 1);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "HIT");
    // Hits until the TTL is over, then a miss: polled with a deadline.
    std::string result = "HIT";
    while (result == "HIT" && std::chrono::steady_clock::now() - stored < 5s) {
        result = chat(gateway, question).header("x-cache");
        if (result == "HIT") std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(result, "MISS");
    EXPECT_GE(std::chrono::steady_clock::now() - stored, 1s);
    EXPECT_EQ(upstream_requests(model), 2);
}

TEST(Cache, NoCacheAsksAfreshAndNoStoreLeavesNoTrace) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    const auto first = chat(gateway, question);
    settle(gateway, 1);
    const auto fresh = chat(gateway, question, acme_key, {{"cache-control", "no-cache"}});
    EXPECT_EQ(fresh.header("x-cache"), "BYPASS");
    EXPECT_NE(fresh.json()["id"], first.json()["id"]);
    settle(gateway, 2);
    // no-cache stored the fresh answer in place of the old one.
    EXPECT_EQ(chat(gateway, question).json()["id"], fresh.json()["id"]);

    const auto secret = R"({"model":"fake-model","messages":[{"role":"user","content":"private"}]})";
    EXPECT_EQ(chat(gateway, secret, acme_key, {{"cache-control", "no-store"}}).header("x-cache"),
              "BYPASS");
    settle(gateway, 4);
    EXPECT_EQ(chat(gateway, secret).header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 4);
    settle(gateway, 5);
    EXPECT_EQ(gateway.access_line_where("cache", "bypass")["status"], 200);
    EXPECT_EQ(metric_value(metrics_of(gateway),
                           R"(llmgw_cache_requests_total{result="bypass",route="chat"})"),
              2);
}

TEST(Cache, ErrorAnswersAreNeverStored) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    for (const auto* status : {"500", "429", "400"}) {
        const auto failed = chat(gateway, question, acme_key, {{"x-fake-status", status}});
        EXPECT_EQ(failed.status, std::stoi(status));
        EXPECT_EQ(failed.header("x-cache"), "MISS");
    }
    settle(gateway, 3);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 4);
    settle(gateway, 4);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "HIT");
}

TEST(Cache, AnswersLargerThanMaxEntryBytesAreNotStored) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(
        cached_config(model, "{ ttl: 10m }", "cache: { max_entry_bytes: 2KiB }\n"));
    // 400 words make an answer well over 2 KiB.
    const auto big = chat(gateway, question, acme_key, {{"x-fake-chunks", "400"}});
    ASSERT_EQ(big.status, 200);
    ASSERT_GT(big.body.size(), 2048u);
    settle(gateway, 1);
    EXPECT_EQ(chat(gateway, question, acme_key, {{"x-fake-chunks", "400"}}).header("x-cache"),
              "MISS");
    EXPECT_EQ(upstream_requests(model), 2);
}

TEST(Cache, EvictsLeastRecentlyUsedWithinMaxBytes) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(
        model, "{ ttl: 10m }", "cache: { max_bytes: 8KiB, max_entry_bytes: 2KiB }\n"));
    auto nth = [](int i) {
        return R"({"model":"fake-model","messages":[{"role":"user","content":"question )" +
               std::to_string(i) + R"("}]})";
    };
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(chat(gateway, nth(i)).header("x-cache"), "MISS");
        settle(gateway, static_cast<std::size_t>(i) + 1);
    }
    const auto metrics = metrics_of(gateway);
    EXPECT_LE(metric_value(metrics, "llmgw_cache_bytes"), 8192);
    EXPECT_GT(metric_value(metrics, "llmgw_cache_evictions_total"), 0);
    const auto entries = metric_value(metrics, "llmgw_cache_entries");
    EXPECT_GE(entries, 2);
    EXPECT_EQ(metric_value(metrics, "llmgw_cache_evictions_total") + entries, 20);
    EXPECT_EQ(chat(gateway, nth(19)).header("x-cache"), "HIT");  // the newest stays
    EXPECT_EQ(chat(gateway, nth(0)).header("x-cache"), "MISS");  // the oldest went
}

TEST(Cache, StreamedAnswersAreReplayedAsAValidEventStream) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    const auto body = chat_body("fake-model", /*stream=*/true).dump();
    const HttpRequest request{"POST",
                              "/v1/chat/completions",
                              {{"authorization", std::string("Bearer ") + acme_key},
                               {"content-type", "application/json"},
                               {"x-fake-chunk-interval-ms", "20"}},
                              body};
    const auto first = http_stream(gateway.port(), request);
    ASSERT_TRUE(first.complete) << first.error;
    EXPECT_EQ(first.header("x-cache"), "MISS");
    settle(gateway, 1);
    const auto replay = http_stream(gateway.port(), request);
    ASSERT_TRUE(replay.complete) << replay.error;
    EXPECT_EQ(replay.status, 200);
    EXPECT_EQ(replay.header("x-cache"), "HIT");
    EXPECT_EQ(replay.header("content-type"), first.header("content-type"));
    EXPECT_EQ(replay.header("transfer-encoding"), "chunked");
    const auto events = sse_data_lines(replay.body());
    EXPECT_EQ(events, sse_data_lines(first.body()));
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "[DONE]");
    for (std::size_t i = 0; i + 1 < events.size(); ++i)
        EXPECT_FALSE(nlohmann::json::parse(events[i], nullptr, false).is_discarded()) << events[i];
    // The client did not ask for usage: the gateway's usage-only event is not replayed either.
    for (const auto& event : events) EXPECT_THAT(event, testing::Not(HasSubstr("\"usage\"")));
    // A non-streamed request for the same messages does not share the entry.
    EXPECT_EQ(chat(gateway, chat_body().dump()).header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 2);
}

TEST(Cache, CutStreamsAreNeverStored) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    const HttpRequest cut{"POST",
                          "/v1/chat/completions",
                          {{"authorization", std::string("Bearer ") + acme_key},
                           {"content-type", "application/json"},
                           {"x-fake-drop-after", "2"}},
                          chat_body("fake-model", true).dump()};
    const auto broken = http_stream(gateway.port(), cut);
    EXPECT_FALSE(broken.complete);
    settle(gateway, 1);
    HttpRequest again = cut;
    again.headers.pop_back();
    const auto next = http_stream(gateway.port(), again);
    EXPECT_TRUE(next.complete) << next.error;
    EXPECT_EQ(next.header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 2);
}

TEST(Cache, IdenticalRequestsInFlightAreCoalescedIntoOneUpstreamCall) {
    auto model = FakeModel::start("m1", {"--threads", "2"});
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    constexpr int clients = 12;
    std::vector<std::future<HttpResponse>> answers;
    for (int i = 0; i < clients; ++i)
        answers.push_back(std::async(std::launch::async, [&] {
            return chat(gateway, question, acme_key, {{"x-fake-delay-ms", "500"}});
        }));
    std::set<std::string> ids;
    std::map<std::string, int> results;
    for (auto& answer : answers) {
        const auto response = answer.get();
        ASSERT_EQ(response.status, 200) << response.body;
        ids.insert(response.json()["id"].get<std::string>());
        ++results[response.header("x-cache")];
    }
    EXPECT_EQ(upstream_requests(model), 1);
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(results["MISS"], 1);
    EXPECT_EQ(results["HIT"], clients - 1);
    settle(gateway, clients);
    EXPECT_EQ(metric_value(metrics_of(gateway), R"(llmgw_cache_coalesced_total{route="chat"})"),
              clients - 1);
}

TEST(Cache, FollowersOfAFailedLeaderAreServedNormally) {
    auto model = FakeModel::start("m1", {"--threads", "2"});
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    auto leader = std::async(std::launch::async, [&] {
        return chat(gateway, question, acme_key,
                    {{"x-fake-delay-ms", "400"}, {"x-fake-status", "500"}});
    });
    // The follower starts once the leader is at the model.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (model.stats()["in_flight"] == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    const auto follower = chat(gateway, question);
    EXPECT_EQ(leader.get().status, 500);
    EXPECT_EQ(follower.status, 200);
    EXPECT_EQ(follower.header("x-cache"), "MISS");
    EXPECT_EQ(upstream_requests(model), 2);
}

TEST(Cache, HitsCountAgainstRequestQuotasAndAreRecordedAsCached) {
    auto model = FakeModel::start("m1");
    auto config = cached_config(model, "{ ttl: 10m }");
    config.replace(config.find("tiers: { pro: {} }"), 18,
                   "tiers: { pro: { quota: { requests_per_day: 3, tokens_per_day: 1000000 } } }");
    auto gateway = RunningGateway::start(config);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "MISS");
    settle(gateway, 1);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "HIT");
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "HIT");
    const auto refused = chat(gateway, question);
    EXPECT_EQ(refused.status, 429);
    settle(gateway, 4);
    const auto usage =
        http_request(gateway.admin_port(), {"GET", "/admin/usage?consumer=acme&" + usage_days_around_today()}).json();
    EXPECT_EQ(usage["total"]["requests"], 3);
    EXPECT_EQ(usage["total"]["cached"], 2);
    const auto miss_line = gateway.access_line_where("cache", "miss");
    EXPECT_EQ(usage["total"]["completion_tokens"], miss_line["completion_tokens"]);
}

TEST(Cache, AdminPurgesEverythingOrOneRoute) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start(cached_config(model, "{ ttl: 10m }"));
    chat(gateway, question);
    settle(gateway, 1);
    ASSERT_EQ(chat(gateway, question).header("x-cache"), "HIT");
    const auto unknown = http_request(gateway.admin_port(), {"DELETE", "/admin/cache?route=nope"});
    EXPECT_EQ(unknown.status, 404);
    const auto purged = http_request(gateway.admin_port(), {"DELETE", "/admin/cache?route=chat"});
    ASSERT_EQ(purged.status, 200) << purged.body;
    EXPECT_EQ(purged.json()["purged"], 1);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "MISS");
    settle(gateway, 3);
    const auto all = http_request(gateway.admin_port(), {"DELETE", "/admin/cache"});
    EXPECT_EQ(all.json()["purged"], 1);
    EXPECT_EQ(chat(gateway, question).header("x-cache"), "MISS");
    settle(gateway, 4);  // stored once its answer is written
    EXPECT_EQ(metric_value(metrics_of(gateway), "llmgw_cache_entries"), 1);
}

TEST(Cache, RedisStoreIsSharedByInstancesAndItsTroubleIsAMiss) {
    auto redis = RedisServer::start();
    auto model = FakeModel::start("m1");
    const auto extra = "redis: { url: \"redis://127.0.0.1:" + std::to_string(redis.port()) +
                       "\", timeout: 2s }\ncache: { store: redis }\n";
    auto first = RunningGateway::start(cached_config(model, "{ ttl: 10m }", extra));
    auto second = RunningGateway::start(cached_config(model, "{ ttl: 10m }", extra));
    const auto miss = chat(first, question);
    EXPECT_EQ(miss.header("x-cache"), "MISS");
    settle(first, 1);
    const auto hit = chat(second, same_question);
    EXPECT_EQ(hit.header("x-cache"), "HIT");
    EXPECT_EQ(hit.json()["id"], miss.json()["id"]);
    EXPECT_EQ(upstream_requests(model), 1);
    const auto keys = redis.cli({"--scan", "--pattern", "llmgw:cache:chat:*"});
    ASSERT_FALSE(keys.empty());
    const auto key_ttl = std::stoll(redis.cli({"PTTL", keys.substr(0, keys.find('\n'))}));
    EXPECT_GT(key_ttl, 590'000);
    EXPECT_LE(key_ttl, 600'000);
    // A purge on one instance clears the shared store.
    const auto purged = http_request(second.admin_port(), {"DELETE", "/admin/cache"});
    EXPECT_EQ(purged.json()["purged"], 1);
    EXPECT_EQ(chat(first, question).header("x-cache"), "MISS");
    // Redis gone: answers still come, from the model.
    redis.kill();
    const auto without = chat(second, R"({"model":"fake-model","messages":[]})");
    EXPECT_EQ(without.status, 200);
    EXPECT_EQ(without.header("x-cache"), "MISS");
}
