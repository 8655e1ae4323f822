// Two llmgw instances sharing a real PostgreSQL store: changes reach both within a second,
// and a database that goes away for 10 s under load fails no request and loses no usage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "harness.hpp"
#include "support/postgres_server.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

constexpr const char* admin_token = "pg-admin-token-5";

struct PostgresStoreTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        postgres = std::make_unique<PostgresServer>(PostgresServer::start());
        // sync_interval is long: only LISTEN/NOTIFY can make a change arrive within a second.
        const auto sections = "tiers:\n  free: {}\n" + backend_and_route(*model) +
                              "store:\n  url: \"" + postgres->url() +
                              "\"\n  flush_interval: 200ms\n  sync_interval: 60s\n";
        GatewayOptions options;
        options.admin_extra = std::string("  token: ") + admin_token + "\n";
        first = std::make_unique<RunningGateway>(RunningGateway::start(sections, options));
        second = std::make_unique<RunningGateway>(RunningGateway::start(sections, options));
    }
    void TearDown() override {
        first.reset();
        second.reset();
        postgres.reset();
    }
    HttpResponse admin(const RunningGateway& on, const std::string& method, const std::string& target,
                       const nlohmann::json& body = nullptr) const {
        HttpRequest request{method, target, {{"authorization", std::string("Bearer ") + admin_token}}};
        if (!body.is_null()) request.body = body.dump();
        return http_request(on.admin_port(), request);
    }
    static int chat(const RunningGateway& on, const std::string& key) {
        return on.post("/v1/chat/completions", chat_body(), {{"authorization", "Bearer " + key}}).status;
    }
    std::string new_key(const std::string& name) {
        EXPECT_EQ(admin(*first, "POST", "/admin/consumers", {{"name", name}, {"tier", "free"}}).status, 201);
        const auto key = admin(*first, "POST", "/admin/consumers/" + name + "/keys", nlohmann::json::object());
        EXPECT_EQ(key.status, 201) << key.body;
        return key.json().value("key", "");
    }

    std::unique_ptr<FakeModel> model;
    std::unique_ptr<PostgresServer> postgres;
    std::unique_ptr<RunningGateway> first, second;
};

}  // namespace

TEST_F(PostgresStoreTest, AKeyMadeOnOneInstanceWorksOnTheOtherWithinASecondAndSoDoesItsRevocation) {
    const auto key = new_key("acme");
    EXPECT_EQ(chat(*first, key), 200);
    EXPECT_TRUE(eventually([&] { return chat(*second, key) == 200; }, 1s));
    const auto id = admin(*first, "GET", "/admin/consumers/acme/keys").json()["data"][0]["id"].get<std::string>();
    ASSERT_EQ(admin(*second, "DELETE", "/admin/consumers/acme/keys/" + id).status, 204);
    EXPECT_EQ(chat(*second, key), 401);
    const auto revoked = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually([&] { return chat(*first, key) == 401; }, 1s));
    std::cerr << "revocation reached the other instance after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - revoked).count()
              << " ms\n";
    // A restart of both keeps what was made.
    const auto kept = new_key("beta");
    ASSERT_TRUE(eventually([&] { return chat(*second, kept) == 200; }, 1s));
    first->process().terminate(10s);
    first = std::make_unique<RunningGateway>(RunningGateway::start(
        "tiers:\n  free: {}\n" + backend_and_route(*model) + "store:\n  url: \"" + postgres->url() +
            "\"\n  flush_interval: 200ms\n  sync_interval: 60s\n",
        [] {
            GatewayOptions options;
            options.admin_extra = std::string("  token: ") + admin_token + "\n";
            return options;
        }()));
    EXPECT_EQ(chat(*first, kept), 200);
    EXPECT_EQ(chat(*first, key), 401);
}

TEST_F(PostgresStoreTest, TenSecondsWithoutTheDatabaseFailNoRequestAndLoseNoUsage) {
    const auto key = new_key("acme");
    ASSERT_TRUE(eventually([&] { return chat(*second, key) == 200; }, 1s));
    std::atomic<int> served{1}, failed{0};  // the one above, on the second instance
    std::atomic<bool> running{true};
    std::thread load([&] {
        for (int i = 0; running; ++i) {
            const int status = chat(i % 2 ? *first : *second, key);
            (status == 200 ? served : failed)++;
            std::this_thread::sleep_for(5ms);
        }
    });
    std::this_thread::sleep_for(1s);
    postgres->stop();
    std::this_thread::sleep_for(10s);
    const auto down_scrape = http_request(first->admin_port(), {"GET", "/metrics"}).body;
    postgres->restart();
    std::this_thread::sleep_for(1s);
    running = false;
    load.join();
    EXPECT_EQ(failed, 0);
    EXPECT_GT(served, 100);
    EXPECT_THAT(down_scrape, testing::HasSubstr("llmgw_store_up 0"));
    // Both instances write what they held once the database is back.
    int in_ledger = 0;
    const auto stopped_load = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually(
        [&] {
            const auto usage =
                admin(*first, "GET", "/admin/usage?consumer=acme&" + usage_days_around_today());
            if (usage.status != 200) return false;
            in_ledger = usage.json()["total"]["requests"];
            return in_ledger == served;
        },
        // Days around today: the one fresh-clone run that saw 834 of 2031 here crossed
        // midnight UTC, and today's row alone lacked the requests of the day before.
        10s))
        << in_ledger << " in the ledger, " << served << " served";
    std::cerr << "the ledger held every request "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - stopped_load).count()
              << " ms after the load stopped\n";
}

// A database that hangs without closing its connections (SIGSTOP: a host that froze, a
// network that drops everything) gets the same answer as one that is down: no model request
// notices, an admin change gets 503 within seconds (each call to PostgreSQL has a deadline;
// libpq's blocking calls would wait for ever), and what was served reaches the ledger after.
TEST_F(PostgresStoreTest, AFrozenDatabaseHoldsNoThreadAndFailsNoRequest) {
    const auto key = new_key("acme");
    ASSERT_TRUE(eventually([&] { return chat(*second, key) == 200; }, 1s));
    std::atomic<int> served{1}, failed{0};
    std::atomic<bool> running{true};
    std::thread load([&] {
        for (int i = 0; running; ++i) {
            (chat(i % 2 ? *first : *second, key) == 200 ? served : failed)++;
            std::this_thread::sleep_for(5ms);
        }
    });
    std::this_thread::sleep_for(500ms);
    postgres->freeze();
    const auto frozen = std::chrono::steady_clock::now();
    HttpResponse change;
    try {
        HttpRequest request{"POST", "/admin/consumers",
                            {{"authorization", std::string("Bearer ") + admin_token}}};
        request.body = R"({"name":"beta","tier":"free"})";
        change = http_request(first->admin_port(), request, 30s);
    } catch (const HttpError& error) {
        change.body = error.what();  // no answer within 30 s: a thread waits on the database
    }
    const auto answered = std::chrono::steady_clock::now() - frozen;
    EXPECT_EQ(change.status, 503) << change.body;
    EXPECT_LT(answered, 12s);  // a statement's deadline (5 s), then a connection's (3 s)
    postgres->thaw();
    std::this_thread::sleep_for(500ms);
    running = false;
    load.join();
    EXPECT_EQ(failed, 0);
    EXPECT_TRUE(eventually([&] {
        return admin(*first, "POST", "/admin/consumers", {{"name", "beta"}, {"tier", "free"}}).status == 201;
    }, 10s));
    int in_ledger = 0;
    EXPECT_TRUE(eventually([&] {
        const auto usage = admin(*first, "GET", "/admin/usage?consumer=acme&" + usage_days_around_today());
        if (usage.status != 200) return false;
        in_ledger = usage.json()["total"]["requests"];
        return in_ledger == served;
    }, 10s)) << in_ledger << " in the ledger, " << served << " served";
}
