// Smooth weighted round-robin.
#include "llmgw/upstream/balancer.hpp"

#include <gtest/gtest.h>

#include <thread>

using llmgw::config::Endpoint;
using llmgw::upstream::Balancer;

namespace {
std::vector<Endpoint> endpoints(std::initializer_list<unsigned> weights) {
    std::vector<Endpoint> out;
    for (auto w : weights) {
        Endpoint e;
        e.weight = w;
        out.push_back(e);
    }
    return out;
}
}  // namespace

TEST(Balancer, EqualWeightsArePlainRoundRobin) {
    const auto list = endpoints({1, 1, 1});
    Balancer balancer(list);
    std::vector<std::size_t> picks;
    for (int i = 0; i < 6; ++i) picks.push_back(balancer.pick());
    EXPECT_EQ(picks, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(Balancer, WeightsAreInterleavedNotBunched) {
    const auto list = endpoints({5, 1, 1});
    Balancer balancer(list);
    EXPECT_EQ(balancer.schedule(), (std::vector<std::size_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(Balancer, SharesAreExactAcrossThreads) {
    const auto list = endpoints({3, 1});
    Balancer balancer(list);
    std::atomic<int> first{0}, second{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) (balancer.pick() == 0 ? first : second)++;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(first.load(), 3000);
    EXPECT_EQ(second.load(), 1000);
}
