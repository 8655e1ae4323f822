// What an engine's /metrics says about its load, read with that engine's metric names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::upstream {

// One scrape's figures; a figure the body did not carry stays unset.
struct EngineFigures {
    std::optional<double> waiting;           // requests queued, not yet running
    std::optional<double> running;           // requests being served
    std::optional<double> kv_usage;          // KV-cache use, 0..1
    std::vector<std::string> lora_adapters;  // vLLM: the adapters loaded and running
    bool any() const { return waiting || running || kv_usage; }
};

// Reads `body` (Prometheus text) with the names `engine` uses. Series of one name are summed
// for request counts (one per model or data-parallel rank) and the highest KV-cache use is
// kept (the fullest rank is the one a new request may wait on).
EngineFigures read_engine_figures(config::EngineKind engine, std::string_view body);

}  // namespace llmgw::upstream
