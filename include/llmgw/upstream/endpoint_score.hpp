// The engine-aware balancer's decision: a score per endpoint from the gateway's own exact
// in-flight counts and the engine's fresh figures; the lowest score is picked. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace llmgw::upstream {

// The engine's figures as the balancer sees them (only fresh ones are given).
struct EngineView {
    double waiting = 0;
    double running = 0;
    double kv_usage = 0;  // 0..1
};

struct EndpointLoad {
    int requests = 0;                  // the gateway's own requests in flight, all workers
    std::int64_t tokens = 0;           // their estimated tokens (prompt + completion)
    std::optional<EngineView> engine{};  // absent when never scraped, failing or stale
    bool runs_adapter = false;         // the request's LoRA adapter is loaded there
    bool eligible = true;              // healthy, circuit admits, not tried yet
};

// The weights of the formula (docs/backends.md, "Engine-aware balancing", says why).
struct ScoreWeights {
    static constexpr double tokens_per_request = 4096;  // estimated tokens worth one request
    static constexpr double waiting = 2;                // per request queued at the engine
    static constexpr double kv_full = 4;                // a full KV cache, in requests
    static constexpr double adapter = 2;                // the adapter is already loaded: a bonus
};

// score = requests + tokens / 4096
//       + (fresh engine figures) 2 × waiting + 4 × kv_usage
//       − (adapter loaded) 2
double endpoint_score(const EndpointLoad& load);

// The eligible endpoint with the lowest score; ties go to the first from `start` on (the
// caller rotates `start`, so equal endpoints share the work). nullopt when none is eligible.
std::optional<std::size_t> lowest_score(std::span<const EndpointLoad> loads, std::size_t start);

// Bounded loads (consistent hashing with bounded loads, Mirrokni et al.): whether one more
// request fits on an endpoint with load `load` (requests), when the eligible endpoints'
// loads sum to `total` over `endpoints`: load + 1 ≤ ceil(max_load × (total + 1) / n).
bool within_bound(double load, double total, std::size_t endpoints, double max_load);

}  // namespace llmgw::upstream
