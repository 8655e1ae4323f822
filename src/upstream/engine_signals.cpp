// Storing a scrape's figures and reading them back while fresh.
#include "llmgw/upstream/engine_signals.hpp"

#include "llmgw/upstream/routing_hints.hpp"

namespace llmgw::upstream {

void EngineSignals::store(const EngineFigures& figures, clock::time_point now) {
    constexpr auto relaxed = std::memory_order_relaxed;
    waiting_.store(figures.waiting.value_or(0), relaxed);
    running_.store(figures.running.value_or(0), relaxed);
    kv_usage_.store(figures.kv_usage.value_or(0), relaxed);
    for (std::size_t i = 0; i < max_adapters; ++i)
        adapters_[i].store(
            i < figures.lora_adapters.size() ? hash_text(figures.lora_adapters[i]) : 0, relaxed);
    // Last, with release: a reader that sees the new time sees the figures stored before it.
    scraped_at_.store(now.time_since_epoch().count(), std::memory_order_release);
}

std::optional<EngineView> EngineSignals::fresh(clock::time_point now,
                                               clock::duration stale_after) const {
    const auto at = scraped_at_.load(std::memory_order_acquire);
    if (at == 0 || now - clock::time_point(clock::duration(at)) > stale_after) return std::nullopt;
    return last();
}

EngineView EngineSignals::last() const {
    constexpr auto relaxed = std::memory_order_relaxed;
    return EngineView{waiting_.load(relaxed), running_.load(relaxed), kv_usage_.load(relaxed)};
}

bool EngineSignals::runs_adapter(std::uint64_t adapter_hash) const {
    if (adapter_hash == 0) return false;
    for (const auto& slot : adapters_)
        if (slot.load(std::memory_order_relaxed) == adapter_hash) return true;
    return false;
}

std::optional<double> EngineSignals::age_seconds(clock::time_point now) const {
    const auto at = scraped_at_.load(std::memory_order_acquire);
    if (at == 0) return std::nullopt;
    return std::chrono::duration<double>(now - clock::time_point(clock::duration(at))).count();
}

}  // namespace llmgw::upstream
