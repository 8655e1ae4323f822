// Instances starting together against one fresh PostgreSQL database migrate one after the
// other (an advisory lock): each finds the schema whole, none fails on another's tables.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "llmgw/store/store.hpp"
#include "support/postgres_server.hpp"

using llmgw::store::open_store;

TEST(PostgresMigrations, InstancesStartingTogetherMigrateOnceAndAllSucceed) {
    auto server = llmgw::testing::PostgresServer::start();
    llmgw::config::StoreConfig config;
    config.engine = llmgw::config::StoreConfig::Engine::postgres;
    config.url = server.url();
    constexpr int instances = 6;
    std::atomic<int> ready{0};
    std::atomic<int> failures{0};
    std::vector<int> versions(instances, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i)
        threads.emplace_back([&, i] {
            try {
                auto store = open_store(config);  // connected first, then all migrate at once
                ++ready;
                while (ready.load() < instances) std::this_thread::yield();
                versions[static_cast<std::size_t>(i)] = store->migrate();
            } catch (const std::exception&) {
                ++failures;
            }
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    for (int version : versions) {
        EXPECT_GT(version, 0);
        EXPECT_EQ(version, versions[0]);
    }
}
