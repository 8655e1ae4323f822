// The engine-aware score and the bounded-load test.
#include "llmgw/upstream/endpoint_score.hpp"

#include <cmath>

namespace llmgw::upstream {

double endpoint_score(const EndpointLoad& load) {
    double score =
        load.requests + static_cast<double>(load.tokens) / ScoreWeights::tokens_per_request;
    if (load.engine) {
        score += ScoreWeights::waiting * load.engine->waiting;
        score += ScoreWeights::kv_full * load.engine->kv_usage;
        if (load.runs_adapter) score -= ScoreWeights::adapter;
    }
    return score;
}

std::optional<std::size_t> lowest_score(std::span<const EndpointLoad> loads, std::size_t start) {
    std::optional<std::size_t> best;
    double best_score = 0;
    for (std::size_t step = 0; step < loads.size(); ++step) {
        const auto index = (start + step) % loads.size();
        if (!loads[index].eligible) continue;
        const auto score = endpoint_score(loads[index]);
        if (!best || score < best_score) {
            best = index;
            best_score = score;
        }
    }
    return best;
}

bool within_bound(double load, double total, std::size_t endpoints, double max_load) {
    if (endpoints == 0) return false;
    const auto cap = std::ceil(max_load * (total + 1) / static_cast<double>(endpoints));
    return load + 1 <= cap;
}

}  // namespace llmgw::upstream
