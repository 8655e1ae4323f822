// BackendState's engine-aware pick and affinity: fresh engine figures steer, stale ones
// are ignored, affinity holds within the bound and spills beyond it.
#include <gtest/gtest.h>

#include "llmgw/config/loader.hpp"
#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/hash_ring.hpp"
#include "llmgw/upstream/routing_hints.hpp"

using namespace std::chrono_literals;
using llmgw::upstream::BackendState;
using llmgw::upstream::EngineFigures;
using llmgw::upstream::RoutingHints;

namespace {
llmgw::config::Config two_engines(const std::string& extra = "") {
    return llmgw::config::load_string(R"(backends:
  pool:
    balancer: engine_aware
    engine: vllm
    engine_metrics: { stale_after: 5s }
    endpoints: [ { url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2" } ]
)" + extra + R"(
routes: [ { name: r, backend: pool } ]
)");
}

EngineFigures queue(double waiting) {
    EngineFigures figures;
    figures.waiting = waiting;
    figures.running = 8;
    figures.kv_usage = 0.5;
    return figures;
}

// Picks `n` times, holding each pick in flight as the forwarder does; counts per endpoint.
std::vector<int> spread(BackendState& backend, int n, const RoutingHints* hints = nullptr) {
    std::vector<int> count(backend.size(), 0);
    const std::vector<bool> none(backend.size(), false);
    for (int i = 0; i < n; ++i) {
        const auto choice = backend.pick(none, BackendState::clock::now(), hints);
        ++count[choice->index];
        ++backend.endpoint(choice->index).in_flight;
    }
    return count;
}
}  // namespace

TEST(EngineAwarePick, AvoidsTheEndpointWithALongQueue) {
    const auto config = two_engines();
    BackendState backend(config.backends[0]);
    const auto now = BackendState::clock::now();
    backend.endpoint(0).engine.store(queue(40), now);
    backend.endpoint(1).engine.store(queue(0), now);
    const auto count = spread(backend, 20);
    EXPECT_EQ(count[0], 0);
    EXPECT_EQ(count[1], 20);
}

TEST(EngineAwarePick, StaleFiguresAreIgnoredAndOwnCountsDecide) {
    const auto config = two_engines();
    BackendState backend(config.backends[0]);
    backend.endpoint(0).engine.store(queue(40), BackendState::clock::now() - 10s);
    const auto count = spread(backend, 20);
    EXPECT_EQ(count[0], 10);
    EXPECT_EQ(count[1], 10);
}

TEST(EngineAwarePick, PrefersTheEndpointRunningTheAdapter) {
    const auto config = two_engines();
    BackendState backend(config.backends[0]);
    const auto now = BackendState::clock::now();
    auto with_adapter = queue(0);
    with_adapter.lora_adapters = {"sql-lora"};
    backend.endpoint(0).engine.store(queue(0), now);
    backend.endpoint(1).engine.store(with_adapter, now);
    RoutingHints hints;
    hints.model = llmgw::upstream::hash_text("sql-lora");
    const std::vector<bool> none(2, false);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(backend.pick(none, now, &hints)->index, 1u);
}

TEST(AffinityPick, AConversationStaysWithItsPrefixAndSpillsBeyondTheBound) {
    const auto config =
        two_engines("    affinity: { by: prefix, block_bytes: 16, max_load: 1.25 }\n");
    BackendState backend(config.backends[0]);
    RoutingHints hints;
    hints.prefix_blocks = llmgw::upstream::prefix_blocks(std::string(64, 'c'), 16);
    const std::vector<bool> none(2, false);
    const auto now = BackendState::clock::now();
    const auto first = backend.pick(none, now, &hints)->index;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(backend.pick(none, now, &hints)->index, first);
    EXPECT_EQ(backend.affinity_hits.load(), 5u);
    backend.endpoint(first).in_flight = 4;  // far above the mean of 2
    EXPECT_NE(backend.pick(none, now, &hints)->index, first);
    EXPECT_EQ(backend.affinity_spills.load(), 1u);
}

TEST(AffinityPick, HeaderKeysSpreadOverEndpointsAndStayPut) {
    const auto config = two_engines("    affinity: { by: header }\n");
    BackendState backend(config.backends[0]);
    const std::vector<bool> none(2, false);
    const auto now = BackendState::clock::now();
    std::vector<int> owners(2, 0);
    for (int key = 0; key < 200; ++key) {
        RoutingHints hints;
        hints.affinity_key = llmgw::upstream::hash_text("session-" + std::to_string(key));
        const auto first = backend.pick(none, now, &hints)->index;
        EXPECT_EQ(backend.pick(none, now, &hints)->index, first);
        ++owners[first];
    }
    EXPECT_GT(owners[0], 60);
    EXPECT_GT(owners[1], 60);
}

TEST(HashRing, LosingAnEndpointMovesOnlyItsKeys) {
    const auto config = llmgw::config::load_string(R"(backends:
  pool:
    endpoints: [ { url: "http://127.0.0.1:1" }, { url: "http://127.0.0.1:2" }, { url: "http://127.0.0.1:3" } ]
routes: [ { name: r, backend: pool } ]
)");
    const llmgw::upstream::HashRing ring(config.backends[0].endpoints);
    for (int key = 0; key < 300; ++key) {
        const auto hash = llmgw::upstream::hash_text(std::to_string(key));
        const auto all = ring.owner(hash, [](std::size_t) { return true; });
        const auto without_2 = ring.owner(hash, [](std::size_t i) { return i != 2; });
        if (all != 2) {
            EXPECT_EQ(without_2, all);
        }
        EXPECT_NE(without_2, 2u);
    }
}
