// An endpoint's engine figures as last scraped, shared by every worker without a lock.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "llmgw/upstream/endpoint_score.hpp"
#include "llmgw/upstream/engine_figures.hpp"

namespace llmgw::upstream {

class EngineSignals {
public:
    using clock = std::chrono::steady_clock;
    // Adapters remembered per endpoint (vLLM's max_lora is usually a handful).
    static constexpr std::size_t max_adapters = 16;

    // A successful scrape: its figures replace the last ones (a figure the body lacked is 0).
    void store(const EngineFigures& figures, clock::time_point now);
    void scrape_failed() { failures_.fetch_add(1, std::memory_order_relaxed); }

    // The last figures when they are at most `stale_after` old; nullopt otherwise.
    std::optional<EngineView> fresh(clock::time_point now, clock::duration stale_after) const;
    // Whether adapter `adapter_hash` (hash_text of its name) ran at the last scrape.
    bool runs_adapter(std::uint64_t adapter_hash) const;
    // Seconds since the last successful scrape; nullopt before the first one.
    std::optional<double> age_seconds(clock::time_point now) const;
    // Failures since the last call (one reader: the metrics sampler).
    std::uint64_t take_failures() { return failures_.exchange(0, std::memory_order_relaxed); }
    EngineView last() const;

private:
    // Each figure on its own: a reader may see two scrapes mixed, which is as good an
    // estimate as either (the figures move slowly against the scrape interval).
    std::atomic<double> waiting_{0};
    std::atomic<double> running_{0};
    std::atomic<double> kv_usage_{0};
    std::atomic<clock::rep> scraped_at_{0};  // 0: never
    std::atomic<std::uint64_t> failures_{0};
    std::array<std::atomic<std::uint64_t>, max_adapters> adapters_{};  // 0: empty slot
};

}  // namespace llmgw::upstream
