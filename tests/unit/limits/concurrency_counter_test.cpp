// ConcurrencyCounter and ConcurrencySlot: the in-process cap on a consumer's requests in flight.
#include "llmgw/limits/concurrency_counter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "llmgw/limits/redis_leases.hpp"

using llmgw::limits::ConcurrencyCounter;
using llmgw::limits::ConcurrencySlot;
using llmgw::limits::RedisLeases;

TEST(ConcurrencyCounter, AdmitsUpToTheCapAndRefusesMoreWithoutTakingAnything) {
    auto counter = ConcurrencyCounter::make();
    auto first = counter->try_acquire("acme", 2);
    auto second = counter->try_acquire("acme", 2);
    auto third = counter->try_acquire("acme", 2);
    EXPECT_TRUE(first.held());
    EXPECT_TRUE(second.held());
    EXPECT_FALSE(third.held());
    EXPECT_EQ(counter->in_flight("acme"), 2u);
}

TEST(ConcurrencyCounter, ConsumersAreCountedApart) {
    auto counter = ConcurrencyCounter::make();
    auto acme = counter->try_acquire("acme", 1);
    auto other = counter->try_acquire("globex", 1);
    EXPECT_TRUE(acme.held());
    EXPECT_TRUE(other.held());
    EXPECT_FALSE(counter->try_acquire("acme", 1).held());
}

TEST(ConcurrencyCounter, ASlotIsGivenBackExactlyOnce) {
    auto counter = ConcurrencyCounter::make();
    auto kept = counter->try_acquire("acme", 3);
    auto slot = counter->try_acquire("acme", 3);
    slot.release();
    slot.release();  // nothing more
    EXPECT_FALSE(slot.held());
    EXPECT_EQ(counter->in_flight("acme"), 1u);
    {
        auto moved_from = counter->try_acquire("acme", 3);
        ConcurrencySlot moved_to(std::move(moved_from));
        EXPECT_EQ(counter->in_flight("acme"), 2u);
    }  // both destroyed: one place given back
    EXPECT_EQ(counter->in_flight("acme"), 1u);
    ConcurrencySlot assigned = counter->try_acquire("acme", 3);
    assigned = counter->try_acquire("acme", 3);  // the first is given back by the assignment
    EXPECT_EQ(counter->in_flight("acme"), 2u);
}

TEST(ConcurrencyCounter, AConsumerWithNothingInFlightIsForgotten) {
    auto counter = ConcurrencyCounter::make();
    {
        auto a = counter->try_acquire("acme", 2);
        auto b = counter->try_acquire("globex", 2);
        EXPECT_EQ(counter->consumers(), 2u);
    }
    EXPECT_EQ(counter->consumers(), 0u);
    // A refusal creates nothing either.
    auto held = counter->try_acquire("acme", 1);
    EXPECT_FALSE(counter->try_acquire("acme", 1).held());
    held.release();
    EXPECT_EQ(counter->consumers(), 0u);
}

TEST(ConcurrencyCounter, CapZeroIsUnlimited) {
    auto counter = ConcurrencyCounter::make();
    std::vector<ConcurrencySlot> slots;
    for (int i = 0; i < 100; ++i) slots.push_back(counter->try_acquire("acme", 0));
    EXPECT_TRUE(std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s.held(); }));
    EXPECT_EQ(counter->in_flight("acme"), 100u);
}

TEST(ConcurrencyCounter, ASlotThatOutlivesItsCounterGivesNothingBack) {
    auto counter = ConcurrencyCounter::make();
    auto slot = counter->try_acquire("acme", 1);
    counter.reset();
    slot.release();  // no counter left to tell: nothing happens
    EXPECT_FALSE(slot.held());
}

TEST(ConcurrencyCounter, WorkersSharingItNeverExceedTheCap) {
    auto counter = ConcurrencyCounter::make();
    constexpr unsigned cap = 3;
    std::atomic<unsigned> inside{0};
    std::atomic<unsigned> most{0};
    std::atomic<unsigned> admitted{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([&] {
            for (int i = 0; i < 5000; ++i) {
                auto slot = counter->try_acquire("acme", cap);
                if (!slot.held()) continue;
                ++admitted;
                const auto now = ++inside;
                unsigned seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                --inside;
            }
        });
    for (auto& worker : workers) worker.join();
    EXPECT_LE(most.load(), cap);
    EXPECT_GT(admitted.load(), 0u);
    EXPECT_EQ(counter->in_flight("acme"), 0u);
    EXPECT_EQ(counter->consumers(), 0u);
}

TEST(RedisLeases, AGivenBackLeaseIsReportedOnceAndForgotten) {
    std::vector<RedisLeases::Lease> released;
    auto leases = std::make_shared<RedisLeases>(
        [&](const RedisLeases::Lease& lease) { released.push_back(lease); });
    const auto first = leases->next_member();
    const auto second = leases->next_member();
    EXPECT_NE(first, second);
    auto slot = leases->hold("acme", "llmgw:cc:{acme}", first);
    auto other = leases->hold("acme", "llmgw:cc:{acme}", second);
    EXPECT_EQ(leases->size(), 2u);
    slot.release();
    slot.release();
    ASSERT_EQ(released.size(), 1u);
    EXPECT_EQ(released[0].member, first);
    EXPECT_EQ(released[0].key, "llmgw:cc:{acme}");
    std::vector<std::string> renewed;
    leases->for_each([&](const RedisLeases::Lease& lease) { renewed.push_back(lease.member); });
    EXPECT_EQ(renewed, std::vector<std::string>{second});
}

TEST(RedisLeases, MembersOfTwoWorkersNeverCollide) {
    auto a = std::make_shared<RedisLeases>(nullptr);
    auto b = std::make_shared<RedisLeases>(nullptr);
    EXPECT_NE(a->next_member(), b->next_member());
}
