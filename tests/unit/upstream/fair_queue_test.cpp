// The queue's order: priority first, then start-time fair queueing among consumers, each
// request costing its estimated tokens over its tier's weight.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "llmgw/upstream/fair_queue.hpp"

using llmgw::upstream::FairQueue;

namespace {

FairQueue::Place place(std::string consumer, std::uint64_t cost = 100, unsigned weight = 1,
                       unsigned priority = 0) {
    return FairQueue::Place{std::move(consumer), priority, weight, cost};
}

// Serves `turns` requests, refilling each consumer's backlog as it is served, and returns
// the tokens each consumer was served.
std::map<std::string, std::uint64_t> serve_backlogged(
    FairQueue& queue, const std::map<std::string, FairQueue::Place>& consumers, int turns) {
    std::map<std::string, std::uint64_t> served;
    for (const auto& [name, p] : consumers)
        for (int i = 0; i < 5; ++i) queue.push(p);
    for (int i = 0; i < turns; ++i) {
        const auto entry = queue.pop();
        const auto& p = consumers.at(entry->consumer);
        served[entry->consumer] += p.cost;
        queue.push(p);  // still backlogged
    }
    return served;
}

}  // namespace

TEST(FairQueue, OneConsumerIsServedInArrivalOrder) {
    FairQueue queue;
    const auto first = queue.push(place("a"));
    const auto second = queue.push(place("a"));
    EXPECT_EQ(queue.pop()->id, first);
    EXPECT_EQ(queue.pop()->id, second);
    EXPECT_FALSE(queue.pop().has_value());
}

TEST(FairQueue, AHigherPriorityGoesFirstWhateverItsArrival) {
    FairQueue queue;
    for (int i = 0; i < 10; ++i) queue.push(place("free"));
    const auto paying = queue.push(place("pro", 100, 1, 10));
    EXPECT_EQ(queue.pop()->id, paying);
    EXPECT_EQ(queue.pop()->consumer, "free");
}

TEST(FairQueue, ALightConsumerIsServedNextWhileAHeavyOneHasFortyWaiting) {
    FairQueue queue;
    for (int i = 0; i < 40; ++i) queue.push(place("heavy"));
    queue.pop();  // the heavy consumer's first goes; 39 wait
    const auto light = queue.push(place("light"));
    // Served within a couple of turns, not after the heavy consumer's 39.
    int turns = 0;
    while (queue.pop()->id != light) ++turns;
    EXPECT_LE(turns, 1);
}

TEST(FairQueue, WeightsThreeToOneShareAboutThreeToOne) {
    FairQueue queue;
    const auto served = serve_backlogged(
        queue, {{"gold", place("gold", 100, 3)}, {"basic", place("basic", 100, 1)}}, 400);
    const double ratio = static_cast<double>(served.at("gold")) / served.at("basic");
    EXPECT_NEAR(ratio, 3.0, 0.1);
}

TEST(FairQueue, BigRequestsCountMoreThanSmallOnes) {
    // Equal weights: the consumer sending 4x larger prompts gets about as many tokens, so a
    // quarter as many requests.
    FairQueue queue;
    const std::map<std::string, FairQueue::Place> consumers = {{"big", place("big", 2000)},
                                                               {"small", place("small", 500)}};
    const auto served = serve_backlogged(queue, consumers, 500);
    const double ratio = static_cast<double>(served.at("big")) / served.at("small");
    EXPECT_NEAR(ratio, 1.0, 0.1);
}

TEST(FairQueue, ARemovedRequestLeavesAndGivesItsShareBack) {
    FairQueue queue;
    const auto a1 = queue.push(place("a"));
    const auto a2 = queue.push(place("a"));
    queue.push(place("b"));
    EXPECT_TRUE(queue.remove(a2));
    EXPECT_FALSE(queue.remove(a2));  // gone already
    EXPECT_EQ(queue.size(), 2u);
    // a's next request starts where a2 would have: right after a1, level with b's.
    const auto a3 = queue.push(place("a"));
    EXPECT_EQ(queue.pop()->id, a1);
    EXPECT_NE(queue.pop()->id, a2);
    const auto last = queue.pop();
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->id == a3 || last->consumer == "b");
}

TEST(FairQueue, ARestoredRequestKeepsItsPlaceAtTheHead) {
    FairQueue queue;
    queue.push(place("a"));
    queue.push(place("b"));
    const auto first = queue.pop();
    queue.push(place("c"));
    queue.restore(*first);
    EXPECT_EQ(queue.pop()->id, first->id);
}

TEST(FairQueue, FlowsOfConsumersGoneAreForgotten) {
    FairQueue queue;
    for (int i = 0; i < 1000; ++i) queue.push(place("c" + std::to_string(i)));
    while (queue.pop()) {
    }
    EXPECT_EQ(queue.flows(), 0u);  // nobody waits: nothing is kept
    // While the queue never empties, consumers that each sent one request are forgotten once
    // they are many: memory is bounded by those waiting, not by every consumer ever seen.
    queue.push(place("stay"));
    for (int i = 0; i < 5000; ++i) {
        queue.push(place("once" + std::to_string(i), 1));
        queue.pop();
    }
    EXPECT_LT(queue.flows(), 1400u);
}
