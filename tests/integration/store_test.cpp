// Consumers and keys at run time in a SQLite store, through the real binary: the admin API,
// what keys do on the request path, the usage ledger, the audit log, and a restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include "harness.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;
using testing::Not;

namespace {

constexpr const char* admin_token = "store-admin-token-31";
constexpr const char* yaml_key = "sk-yaml-consumer-key-77";

std::string sections(const FakeModel& model, const std::string& db, const std::string& flush) {
    return "tiers:\n  free: { quota: { requests_per_day: 100000 } }\n  pro: {}\n"
           "consumers:\n"
           "  - { name: yaml-team, tier: pro, keys: [ { sha256: \"" +
           sha256_hex(yaml_key) + "\" } ] }\n" + backend_and_route(model) +
           "store:\n  url: \"sqlite://" + db + "\"\n  flush_interval: " + flush +
           "\n  sync_interval: 30s\n";
}

struct StoreTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        start("200ms");
    }
    void start(const std::string& flush) {
        GatewayOptions options;
        options.admin_extra = std::string("  token: ") + admin_token + "\n";
        gateway = std::make_unique<RunningGateway>(
            RunningGateway::start(sections(*model, db_dir.file("llmgw.db"), flush), options));
    }
    HttpResponse admin(const std::string& method, const std::string& target,
                       const nlohmann::json& body = nullptr) const {
        HttpRequest request{method, target, {{"authorization", std::string("Bearer ") + admin_token}}};
        if (!body.is_null()) {
            request.body = body.dump();
            request.headers.emplace_back("content-type", "application/json");
        }
        return http_request(gateway->admin_port(), request);
    }
    HttpResponse chat(const std::string& key, const std::string& model_name = "fake-model") const {
        return gateway->post("/v1/chat/completions", chat_body(model_name),
                             {{"authorization", "Bearer " + key}});
    }
    // A consumer of tier `tier` with one key; returns the key.
    std::string consumer_with_key(const std::string& name, const std::string& tier = "free") {
        EXPECT_EQ(admin("POST", "/admin/consumers", {{"name", name}, {"tier", tier}}).status, 201);
        const auto key = admin("POST", "/admin/consumers/" + name + "/keys", {{"label", "ci"}});
        EXPECT_EQ(key.status, 201) << key.body;
        return key.json().value("key", "");
    }
    static std::string code_of(const HttpResponse& response) {
        return response.json()["error"]["code"];
    }

    TempDir db_dir;
    std::unique_ptr<FakeModel> model;
    std::unique_ptr<RunningGateway> gateway;
};

}  // namespace

TEST_F(StoreTest, AKeyCreatedThroughTheApiWorksAtOnceAndIsShownOnlyOnce) {
    const auto created = admin("POST", "/admin/consumers",
                               {{"name", "acme"}, {"tier", "pro"}, {"metadata", {{"plan", "gold"}}}});
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json()["source"], "store");
    const auto key = admin("POST", "/admin/consumers/acme/keys", {{"label", "prod"}});
    ASSERT_EQ(key.status, 201) << key.body;
    const std::string secret = key.json()["key"];
    EXPECT_THAT(secret, testing::StartsWith("llmgw_"));
    EXPECT_EQ(secret.substr(0, 12), key.json()["prefix"]);
    EXPECT_TRUE(key.json()["id"].is_string());

    const auto answer = chat(secret);
    EXPECT_EQ(answer.status, 200) << answer.body;
    ASSERT_TRUE(gateway->wait_for_access_lines(1, 5s));
    EXPECT_EQ(gateway->access_line_where("status", 200)["consumer"], "acme");

    const auto listed = admin("GET", "/admin/consumers/acme/keys");
    ASSERT_EQ(listed.status, 200);
    ASSERT_EQ(listed.json()["data"].size(), 1u);
    EXPECT_FALSE(listed.json()["data"][0].contains("key"));
    EXPECT_EQ(chat("llmgw_" + std::string(48, '0')).status, 401);
    // The key appears nowhere but in the one answer that created it.
    EXPECT_THAT(gateway->process().stderr_text(), Not(HasSubstr(secret)));
    EXPECT_THAT(gateway->process().stdout_text(), Not(HasSubstr(secret)));
    EXPECT_THAT(admin("GET", "/admin/audit").body, Not(HasSubstr(secret)));
    EXPECT_THAT(http_request(gateway->admin_port(), {"GET", "/metrics"}).body, Not(HasSubstr(secret)));
}

TEST_F(StoreTest, BadRequestsGetTheDocumentedCodes) {
    EXPECT_EQ(code_of(admin("POST", "/admin/consumers", {{"name", "x"}, {"tier", "gold"}})),
              "unknown_tier");
    ASSERT_EQ(admin("POST", "/admin/consumers", {{"name", "dup"}, {"tier", "free"}}).status, 201);
    const auto duplicate = admin("POST", "/admin/consumers", {{"name", "dup"}, {"tier", "free"}});
    EXPECT_EQ(duplicate.status, 409);
    EXPECT_EQ(code_of(duplicate), "consumer_exists");
    EXPECT_EQ(code_of(admin("POST", "/admin/consumers", {{"name", "yaml-team"}, {"tier", "free"}})),
              "consumer_exists");
    const auto patch_yaml = admin("PATCH", "/admin/consumers/yaml-team", {{"disabled", true}});
    EXPECT_EQ(patch_yaml.status, 409);
    EXPECT_EQ(code_of(patch_yaml), "consumer_in_config");
    EXPECT_EQ(code_of(admin("POST", "/admin/consumers/yaml-team/keys", nlohmann::json::object())),
              "consumer_in_config");
    const auto missing = admin("GET", "/admin/consumers/nobody");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(code_of(missing), "consumer_not_found");
    EXPECT_EQ(code_of(admin("POST", "/admin/consumers/nobody/keys", nlohmann::json::object())),
              "consumer_not_found");
    for (const auto* when : {"tomorrow", "2001-01-01T00:00:00Z", "2099-13-01T00:00:00Z"}) {
        const auto bad = admin("POST", "/admin/consumers/dup/keys", {{"expires_at", when}});
        EXPECT_EQ(bad.status, 400) << when;
        EXPECT_EQ(code_of(bad), "invalid_expires_at") << when;
    }
    const auto garbage = admin("GET", "/admin/consumers?cursor=zzz");
    EXPECT_EQ(garbage.status, 400);
    EXPECT_EQ(code_of(garbage), "invalid_cursor");
    EXPECT_EQ(code_of(admin("POST", "/admin/consumers", "not an object")), "invalid_admin_request");
    EXPECT_EQ(code_of(admin("DELETE", "/admin/consumers/dup/keys/key_nope")), "key_not_found");
    EXPECT_EQ(http_request(gateway->admin_port(), {"GET", "/admin/consumers"}).status, 401);
}

TEST_F(StoreTest, ListingPagesThroughStoreAndConfigConsumersWithACursor) {
    for (const auto* name : {"c1", "c2", "c3", "c4"})
        ASSERT_EQ(admin("POST", "/admin/consumers", {{"name", name}, {"tier", "free"}}).status, 201);
    std::vector<std::string> names;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        const auto listed =
            admin("GET", "/admin/consumers?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
        ASSERT_EQ(listed.status, 200) << listed.body;
        const auto body = listed.json();
        EXPECT_LE(body["data"].size(), 2u);
        for (const auto& consumer : body["data"]) {
            names.push_back(consumer["name"]);
            EXPECT_EQ(consumer["source"], consumer["name"] == "yaml-team" ? "config" : "store");
        }
        if (body["next_cursor"].is_null()) break;
        cursor = body["next_cursor"];
    }
    EXPECT_EQ(names, (std::vector<std::string>{"c1", "c2", "c3", "c4", "yaml-team"}));
}

TEST_F(StoreTest, ADisabledConsumerGets403UntilEnabledAgain) {
    const auto key = consumer_with_key("acme");
    ASSERT_EQ(chat(key).status, 200);
    const auto disabled = admin("PATCH", "/admin/consumers/acme", {{"disabled", true}});
    ASSERT_EQ(disabled.status, 200) << disabled.body;
    EXPECT_EQ(disabled.json()["disabled"], true);
    const auto refused = chat(key);
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(code_of(refused), "consumer_disabled");
    ASSERT_EQ(admin("PATCH", "/admin/consumers/acme", {{"disabled", false}, {"tier", "pro"}}).status, 200);
    EXPECT_EQ(chat(key).status, 200);
    EXPECT_EQ(admin("GET", "/admin/consumers/acme").json()["tier"], "pro");
}

TEST_F(StoreTest, RevokedKeysAndDeletedConsumersStopWorkingAtOnce) {
    const auto key = consumer_with_key("acme");
    const auto second = admin("POST", "/admin/consumers/acme/keys", nlohmann::json::object());
    ASSERT_EQ(second.status, 201);
    const std::string id = second.json()["id"];
    ASSERT_EQ(chat(second.json()["key"]).status, 200);
    EXPECT_EQ(admin("DELETE", "/admin/consumers/acme/keys/" + id).status, 204);
    EXPECT_EQ(chat(second.json()["key"]).status, 401);
    EXPECT_EQ(chat(key).status, 200);
    EXPECT_EQ(admin("DELETE", "/admin/consumers/acme").status, 204);
    EXPECT_EQ(chat(key).status, 401);
    EXPECT_EQ(admin("GET", "/admin/consumers/acme").status, 404);
}

TEST_F(StoreTest, ARotatedKeyKeepsWorkingForItsGraceThenStops) {
    ASSERT_EQ(admin("POST", "/admin/consumers", {{"name", "acme"}, {"tier", "free"}}).status, 201);
    const auto old_key = admin("POST", "/admin/consumers/acme/keys", nlohmann::json::object()).json();
    const auto rotated = admin("POST", "/admin/consumers/acme/keys/" + old_key["id"].get<std::string>() +
                                           "/rotate",
                               {{"grace", "2s"}});
    ASSERT_EQ(rotated.status, 201) << rotated.body;
    EXPECT_NE(rotated.json()["key"], old_key["key"]);
    EXPECT_EQ(chat(rotated.json()["key"]).status, 200);
    EXPECT_EQ(chat(old_key["key"]).status, 200);  // still in its grace
    EXPECT_TRUE(eventually([&] { return chat(old_key["key"]).status == 401; }, 5s));
    EXPECT_EQ(chat(rotated.json()["key"]).status, 200);
}

TEST_F(StoreTest, UsageByModelAndTheExportComeFromTheLedger) {
    const auto key = consumer_with_key("acme");
    for (int i = 0; i < 3; ++i) ASSERT_EQ(chat(key, "model-a").status, 200);
    ASSERT_EQ(chat(key, "model-b").status, 200);
    // Asked before any flush: usage not yet written is part of the answer. (A request is
    // added to the ledger just after its answer went out, so the last one may take a moment.)
    HttpResponse usage;
    EXPECT_TRUE(eventually([&] {
        usage = admin("GET", "/admin/usage?consumer=acme&group_by=model");
        return usage.status == 200 && usage.json()["total"]["requests"] == 4;
    }));
    ASSERT_EQ(usage.status, 200) << usage.body;
    const auto body = usage.json();
    EXPECT_EQ(body["total"]["requests"], 4);
    ASSERT_EQ(body["models"].size(), 2u);
    EXPECT_EQ(body["models"][0]["model"], "model-a");
    EXPECT_EQ(body["models"][0]["requests"], 3);
    EXPECT_GT(body["total"]["prompt_tokens"].get<int>(), 0);
    ASSERT_EQ(body["days"].size(), 1u);

    const auto csv = admin("GET", "/admin/usage/export?format=csv");
    ASSERT_EQ(csv.status, 200);
    EXPECT_THAT(csv.body, testing::StartsWith(
                              "day,consumer,model,requests,prompt_tokens,completion_tokens,"
                              "cached_tokens,cost\n"));
    EXPECT_THAT(csv.body, HasSubstr(",acme,model-a,3,"));
    const auto jsonl = admin("GET", "/admin/usage/export?format=jsonl");
    ASSERT_EQ(jsonl.status, 200);
    EXPECT_EQ(std::count(jsonl.body.begin(), jsonl.body.end(), '\n'), 2);
    EXPECT_EQ(code_of(admin("GET", "/admin/usage/export?format=xml")), "invalid_usage_query");
    // The admin API's own calls are never in the ledger.
    EXPECT_EQ(admin("GET", "/admin/usage?consumer=acme").json()["total"]["requests"], 4);
}

TEST_F(StoreTest, TheAuditLogSaysWhoChangedWhatWithoutSecrets) {
    const auto key = consumer_with_key("acme");
    ASSERT_EQ(admin("PATCH", "/admin/consumers/acme", {{"tier", "pro"}}).status, 200);
    const auto audit = admin("GET", "/admin/audit");
    ASSERT_EQ(audit.status, 200);
    std::vector<std::string> actions;
    const auto body = audit.json();
    for (const auto& entry : body["data"]) {
        actions.push_back(entry["action"]);
        EXPECT_THAT(entry["actor"].get<std::string>(), testing::StartsWith("admin:"));
        EXPECT_EQ(entry["target"].get<std::string>().substr(0, 4), "acme");
    }
    EXPECT_EQ(actions, (std::vector<std::string>{"consumer.create", "key.create", "consumer.update"}));
    EXPECT_THAT(audit.body, Not(HasSubstr(key)));
    EXPECT_THAT(audit.body, Not(HasSubstr(admin_token)));
}

TEST_F(StoreTest, SigtermWritesTheLedgerAndARestartKeepsEverything) {
    gateway.reset();
    start("1h");  // only the drain writes the ledger
    const auto key = consumer_with_key("acme");
    constexpr int served = 7;
    for (int i = 0; i < served; ++i) ASSERT_EQ(chat(key).status, 200);
    EXPECT_EQ(gateway->process().terminate(10s), 0);
    start("1h");
    EXPECT_EQ(chat(key).status, 200);
    EXPECT_EQ(admin("GET", "/admin/consumers/acme").status, 200);
    // The last chat's entry joins the ledger just after its answer.
    const auto usage = "/admin/usage?consumer=acme&" + usage_days_around_today();
    EXPECT_TRUE(eventually([&] {
        return admin("GET", usage).json()["total"]["requests"] == served + 1;
    }, 5s)) << admin("GET", usage).body;
}

TEST_F(StoreTest, YamlConsumersKeepWorkingBesideTheStore) {
    EXPECT_EQ(chat(yaml_key).status, 200);
    const auto listed = admin("GET", "/admin/consumers/yaml-team");
    ASSERT_EQ(listed.status, 200);
    EXPECT_EQ(listed.json()["source"], "config");
    EXPECT_EQ(code_of(admin("DELETE", "/admin/consumers/yaml-team")), "consumer_in_config");
}

namespace {

struct SelfServiceTest : StoreTest {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        GatewayOptions options;
        options.admin_extra = std::string("  token: ") + admin_token + "\n";
        gateway = std::make_unique<RunningGateway>(RunningGateway::start(
            sections(*model, db_dir.file("llmgw.db"), "200ms") +
                "self_service:\n  enabled: true\n  max_keys_per_consumer: 2\n",
            options));
    }
    HttpResponse own(const std::string& key, const std::string& method, const std::string& target,
                     const std::string& body = "") const {
        return http_request(gateway->port(),
                            {method, target, {{"authorization", "Bearer " + key}}, body});
    }
};

}  // namespace

TEST_F(SelfServiceTest, AConsumerManagesItsOwnKeysUpToTheLimitAndNobodyElses) {
    const auto key = consumer_with_key("acme");
    const auto other = consumer_with_key("beta");
    ASSERT_EQ(chat(key).status, 200);
    // The chat reaches the ledger just after its answer went out: wait for it.
    HttpResponse me;
    EXPECT_TRUE(eventually([&] {
        me = own(key, "GET", "/gateway/me");
        return me.status == 200 && me.json()["usage"]["today"]["requests"] == 1;
    }));
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.json()["consumer"], "acme");
    EXPECT_EQ(me.json()["tier"], "free");
    EXPECT_EQ(me.json()["usage"]["today"]["requests"], 1);
    EXPECT_EQ(me.json()["usage"]["month"]["requests"], 1);
    // What is left of the tier's limit: the chat took one, reading /gateway/me takes none.
    const auto quota = me.json()["limits"][0];
    EXPECT_EQ(quota["limit"], "requests_quota");
    EXPECT_EQ(quota["amount"], 100000);
    EXPECT_EQ(quota["remaining"], 99999);
    EXPECT_GT(quota["reset_seconds"].get<int>(), 0);
    EXPECT_LE(quota["reset_seconds"].get<int>(), 86400);
    ASSERT_EQ(chat(key).status, 200);
    EXPECT_EQ(own(key, "GET", "/gateway/me").json()["limits"][0]["remaining"], 99998);

    const auto second = own(key, "POST", "/gateway/keys", R"({"label":"laptop"})");
    ASSERT_EQ(second.status, 201) << second.body;
    EXPECT_EQ(chat(second.json()["key"]).status, 200);
    const auto third = own(key, "POST", "/gateway/keys", "{}");
    EXPECT_EQ(third.status, 409);
    EXPECT_EQ(code_of(third), "too_many_keys");
    // Another consumer's key id is not found for this consumer, and keeps working.
    const std::string other_id =
        admin("GET", "/admin/consumers/beta/keys").json()["data"][0]["id"];
    EXPECT_EQ(own(key, "DELETE", "/gateway/keys/" + other_id).status, 404);
    EXPECT_EQ(chat(other).status, 200);
    EXPECT_EQ(own(key, "DELETE", "/gateway/keys/" + second.json()["id"].get<std::string>()).status, 204);
    EXPECT_EQ(chat(second.json()["key"]).status, 401);
    const auto yaml = own(yaml_key, "POST", "/gateway/keys", "{}");
    EXPECT_EQ(yaml.status, 403);
    EXPECT_EQ(code_of(yaml), "consumer_in_config");
    // The gateway's own endpoints are not usage: three model calls with acme's keys (added to
    // the ledger just after each answer: the last may take a moment), and never more.
    const auto counted = [&] {
        return admin("GET", "/admin/usage?consumer=acme").json()["total"]["requests"].get<int>();
    };
    EXPECT_TRUE(eventually([&] { return counted() >= 3; }));
    EXPECT_EQ(counted(), 3);
}
