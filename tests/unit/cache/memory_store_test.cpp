// The in-process store: freshness, LRU eviction under the byte bound, purges.
#include "llmgw/cache/memory_store.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using llmgw::cache::CachedAnswer;
using llmgw::cache::Clock;
using llmgw::cache::MemoryStore;

namespace {

std::shared_ptr<const CachedAnswer> answer(std::string route, std::size_t body_bytes,
                                           Clock::duration ttl = 1h) {
    auto a = std::make_shared<CachedAnswer>();
    a->route = std::move(route);
    a->body.assign(body_bytes, 'x');
    a->stored_at = Clock::now();
    a->expires_at = a->stored_at + ttl;
    return a;
}

TEST(MemoryStore, FindsFreshEntriesAndDropsExpiredOnes) {
    MemoryStore store(1 << 20, 1 << 16);
    ASSERT_TRUE(store.insert("r:1", answer("r", 100)));
    ASSERT_TRUE(store.insert("r:2", answer("r", 100, 1s)));
    EXPECT_NE(store.find("r:1", Clock::now()), nullptr);
    EXPECT_EQ(store.find("r:3", Clock::now()), nullptr);
    EXPECT_NE(store.find("r:2", Clock::now()), nullptr);
    EXPECT_EQ(store.find("r:2", Clock::now() + 2s), nullptr);
    EXPECT_EQ(store.entries(), 1u);
}

TEST(MemoryStore, EvictsLeastRecentlyUsedToStayWithinTheBound) {
    // 64 KiB with 16 KiB entries: one shard, so the order is exact.
    MemoryStore store(64 << 10, 16 << 10);
    const auto entry_size = answer("r", 10000)->size();
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(store.insert("r:" + std::to_string(i), answer("r", 10000)));
        // Just before the store is full, 0 is used again: it is the most recent then.
        if (i == 5) {
            ASSERT_NE(store.find("r:0", Clock::now()), nullptr);
        }
        EXPECT_LE(store.bytes(), store.max_bytes());
    }
    EXPECT_EQ(store.entries(), (64u << 10) / entry_size);
    EXPECT_EQ(store.evictions(), 10u - store.entries());
    EXPECT_GT(store.evictions(), 0u);
    EXPECT_NE(store.find("r:0", Clock::now()), nullptr);  // used, so kept
    EXPECT_EQ(store.find("r:1", Clock::now()), nullptr);  // the oldest unused went first
    EXPECT_NE(store.find("r:9", Clock::now()), nullptr);
}

TEST(MemoryStore, RefusesWhatCanNeverFitAndReplacesSameKey) {
    MemoryStore store(8 << 10, 1 << 10);
    EXPECT_FALSE(store.insert("r:big", answer("r", 20 << 10)));
    ASSERT_TRUE(store.insert("r:k", answer("r", 100)));
    ASSERT_TRUE(store.insert("r:k", answer("r", 200)));
    EXPECT_EQ(store.entries(), 1u);
    EXPECT_EQ(store.find("r:k", Clock::now())->body.size(), 200u);
    EXPECT_EQ(store.bytes(), answer("r", 200)->size());
}

TEST(MemoryStore, PurgesAllOrOneRoute) {
    MemoryStore store(1 << 20, 1 << 12);
    for (int i = 0; i < 10; ++i) {
        store.insert("a:" + std::to_string(i), answer("a", 10));
        store.insert("b:" + std::to_string(i), answer("b", 10));
    }
    EXPECT_EQ(store.purge(std::string_view("a")), 10u);
    EXPECT_EQ(store.find("a:1", Clock::now()), nullptr);
    EXPECT_NE(store.find("b:1", Clock::now()), nullptr);
    EXPECT_EQ(store.purge(), 10u);
    EXPECT_EQ(store.entries(), 0u);
    EXPECT_EQ(store.bytes(), 0u);
}

}  // namespace
