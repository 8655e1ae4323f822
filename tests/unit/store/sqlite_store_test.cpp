// The SQLite engine behind the Store interface: migrations, consumers and keys, the ledger's
// upserts and paging, the audit log; and the in-memory directory and ledger buffer.
#include <gtest/gtest.h>

#include <filesystem>

#include "llmgw/store/catalog.hpp"
#include "llmgw/store/directory.hpp"
#include "llmgw/store/store.hpp"
#include "llmgw/store/usage_buffer.hpp"
#include "support/temp_dir.hpp"

using namespace llmgw::store;

namespace {

llmgw::config::StoreConfig sqlite_at(const std::string& path) {
    llmgw::config::StoreConfig config;
    config.engine = llmgw::config::StoreConfig::Engine::sqlite;
    config.path = path;
    return config;
}

StoredConsumer consumer(const std::string& name) {
    StoredConsumer c;
    c.name = name;
    c.tier = "free";
    c.created_at = c.updated_at = 1000;
    return c;
}

AuditEntry audit(const std::string& action, const std::string& target) {
    return {2000, "admin:abc", action, target, "{}"};
}

LedgerRow usage(const std::string& day, const std::string& account, const std::string& model,
                std::uint64_t requests, std::uint64_t prompt) {
    LedgerRow row;
    row.day = day;
    row.account = account;
    row.model = model;
    row.requests = requests;
    row.prompt_tokens = prompt;
    return row;
}

struct SqliteStore : ::testing::Test {
    llmgw::testing::TempDir dir;
    std::unique_ptr<Store> store = open_store(sqlite_at(dir.file("test.db")));
    void SetUp() override { store->migrate(); }
};

}  // namespace

TEST_F(SqliteStore, MigrationsRunOnceAndAreRecorded) {
    const auto version = static_cast<int>(migrations(false).size());
    EXPECT_EQ(store->migrate(), version);
    auto again = open_store(sqlite_at(dir.file("test.db")));
    EXPECT_EQ(again->migrate(), version);  // nothing left to run, nothing run twice
}

TEST_F(SqliteStore, ConsumersAndKeysSurviveAReopen) {
    auto acme = consumer("acme");
    acme.routes = std::vector<std::string>{"chat"};
    store->insert_consumer(acme, audit("consumer.create", "acme"));
    EXPECT_THROW(store->insert_consumer(acme, audit("consumer.create", "acme")), Conflict);
    const auto made = generate_key("prod", 1000, std::nullopt);
    store->insert_key("acme", made.stored, audit("key.create", "acme"));

    auto reopened = open_store(sqlite_at(dir.file("test.db")));
    const auto loaded = reopened->load(std::nullopt);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].routes, acme.routes);
    ASSERT_EQ(loaded[0].keys.size(), 1u);
    EXPECT_EQ(loaded[0].keys[0].sha256, made.stored.sha256);
    EXPECT_EQ(loaded[0].keys[0].id, made.stored.id);
    EXPECT_TRUE(reopened->delete_key("acme", made.stored.id, audit("key.revoke", "acme")));
    EXPECT_FALSE(reopened->delete_key("acme", made.stored.id, audit("key.revoke", "acme")));
    EXPECT_TRUE(reopened->delete_consumer("acme", audit("consumer.delete", "acme")));
    EXPECT_TRUE(reopened->load(std::nullopt).empty());
    // Changes that did not happen (the conflict, the second revoke) left no audit row.
    EXPECT_EQ(reopened->read_audit(0, 3000, 100).size(), 4u);
}

TEST_F(SqliteStore, RotationShortensTheOldKeyOnly) {
    store->insert_consumer(consumer("acme"), audit("consumer.create", "acme"));
    const auto old_key = generate_key("", 1000, std::nullopt);
    store->insert_key("acme", old_key.stored, audit("key.create", "acme"));
    const auto new_key = generate_key("", 1000, std::nullopt);
    EXPECT_TRUE(store->rotate_key("acme", old_key.stored.id, 1060, new_key.stored, audit("key.rotate", "acme")));
    const auto keys = store->load(std::string("acme"))[0].keys;
    ASSERT_EQ(keys.size(), 2u);
    for (const auto& key : keys)
        EXPECT_EQ(key.expires_at, key.id == old_key.stored.id ? std::optional<UnixSeconds>(1060)
                                                              : std::nullopt);
}

TEST_F(SqliteStore, LedgerRowsAddUpAndPageInKeyOrder) {
    store->add_usage({usage("2026-12-01", "acme", "m1", 2, 10), usage("2026-12-01", "beta", "m1", 1, 5)});
    store->add_usage({usage("2026-12-01", "acme", "m1", 3, 20), usage("2026-12-02", "acme", "m2", 1, 1)});
    const LedgerQuery all{"2026-12-01", "2026-12-31", ""};
    const auto first = store->read_usage(all, std::nullopt, 2);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].account, "acme");
    EXPECT_EQ(first[0].requests, 5u);
    EXPECT_EQ(first[0].prompt_tokens, 30u);
    EXPECT_FALSE(first[0].cost.has_value());
    const auto rest = store->read_usage(all, LedgerPosition{first[1].day, first[1].account, first[1].model}, 2);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].model, "m2");
    EXPECT_EQ(store->read_usage({"2026-12-01", "2026-12-31", "beta"}, std::nullopt, 10).size(), 1u);
}

TEST(UsageBuffer, AggregatesByDayAccountModelAndDropsBeyondItsBound) {
    UsageBuffer buffer(2);
    buffer.add(usage("2026-12-01", "acme", "m1", 1, 10), "key_1");
    buffer.add(usage("2026-12-01", "acme", "m1", 1, 5), "key_1");
    buffer.add(usage("2026-12-01", "acme", "m2", 1, 1), "");
    buffer.add(usage("2026-12-01", "beta", "m1", 1, 1), "");  // a third row: dropped
    EXPECT_EQ(buffer.dropped(), 1u);
    auto batch = buffer.take();
    ASSERT_EQ(batch.rows.size(), 2u);
    EXPECT_EQ(batch.rows[0].requests, 2u);
    EXPECT_EQ(batch.rows[0].prompt_tokens, 15u);
    EXPECT_EQ(batch.keys_used.size(), 1u);
    EXPECT_EQ(buffer.rows(), 0u);
    buffer.add(usage("2026-12-01", "acme", "m1", 1, 1), "");
    buffer.put_back(std::move(batch));  // a failed write comes back, merged
    const auto again = buffer.take();
    ASSERT_EQ(again.rows.size(), 2u);
    EXPECT_EQ(again.rows[0].requests, 3u);
}

// A refused batch waits apart from the workers' rows (merging it back under their lock
// stopped every worker for 100 ms per 100,000 rows): both count, and the next take has both.
TEST(UsageBuffer, ARefusedBatchWaitsApartAndTheNextTakeMergesBoth) {
    UsageBuffer buffer(3);
    buffer.add(usage("2026-12-01", "acme", "m1", 1, 10), "key_1");
    buffer.add(usage("2026-12-01", "beta", "m1", 1, 10), "");
    buffer.put_back(buffer.take());  // the database is away
    EXPECT_EQ(buffer.rows(), 2u);
    buffer.add(usage("2026-12-01", "acme", "m1", 1, 5), "key_1");
    buffer.add(usage("2026-12-02", "acme", "m1", 1, 1), "key_1");
    EXPECT_EQ(buffer.rows(), 4u);  // two held, two new (one of them the same row as a held one)
    buffer.put_back(buffer.take());  // away again: held and new merge, three rows
    EXPECT_EQ(buffer.rows(), 3u);
    buffer.add(usage("2026-12-03", "gamma", "m1", 1, 1), "");
    auto batch = buffer.take();
    // The bound holds for the merge: a fourth row is dropped and counted.
    ASSERT_EQ(batch.rows.size(), 3u);
    EXPECT_EQ(buffer.dropped(), 1u);
    EXPECT_EQ(batch.rows[0].account, "acme");
    EXPECT_EQ(batch.rows[0].requests, 2u);
    EXPECT_EQ(batch.rows[0].prompt_tokens, 15u);
    EXPECT_EQ(batch.keys_used.size(), 2u);  // key_1 on two days
    EXPECT_EQ(buffer.rows(), 0u);
    EXPECT_TRUE(buffer.take().empty());
}

TEST(Directory, FindsKeysByDigestAndReplacesOneConsumerWhole) {
    auto acme = consumer("acme");
    const auto key = generate_key("", 1000, std::nullopt);
    acme.keys.push_back(key.stored);
    const auto directory = std::make_shared<const Directory>(std::vector<StoredConsumer>{acme, consumer("beta")});
    ASSERT_NE(directory->find_key(key.stored.sha256), nullptr);
    EXPECT_EQ(directory->find_key(key.stored.sha256)->consumer->name, "acme");
    const auto without = directory->with("acme", {});
    EXPECT_EQ(without->find_key(key.stored.sha256), nullptr);
    EXPECT_EQ(without->consumers().size(), 1u);
    EXPECT_NE(directory->find_key(key.stored.sha256), nullptr);  // the old one is unchanged
}

TEST(GeneratedKeys, AreRandomPrefixedAndStoredOnlyAsDigests) {
    const auto a = generate_key("x", 1, std::nullopt);
    const auto b = generate_key("x", 1, std::nullopt);
    EXPECT_NE(a.key, b.key);
    EXPECT_NE(a.stored.id, b.stored.id);
    EXPECT_EQ(a.key.rfind("llmgw_", 0), 0u);
    EXPECT_EQ(a.key.size(), 54u);
    EXPECT_EQ(a.stored.sha256.size(), 32u);
    EXPECT_EQ(a.stored.prefix, a.key.substr(0, 12));
}

TEST(CheckStore, RefusesADirectoryThatDoesNotExistWithoutCreatingAnything) {
    EXPECT_NE(check_store(sqlite_at("/nonexistent-dir-llmgw/x.db")), "");
    llmgw::testing::TempDir dir;
    EXPECT_EQ(check_store(sqlite_at(dir.file("new.db"))), "");
    EXPECT_FALSE(std::filesystem::exists(dir.file("new.db")));
}
