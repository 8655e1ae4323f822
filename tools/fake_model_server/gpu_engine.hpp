// A simulated GPU inference engine (--gpu-* options): a fixed number of running slots, a FIFO
// waiting queue, a KV cache of a given size in tokens holding an LRU prefix cache, prefill at
// a fixed rate for the prompt tokens the cache lacks, decode at a fixed rate, and /metrics in
// vLLM's names, optionally as they were a set delay ago. The schedule is computed at arrival
// (a FIFO multi-slot queue), so timings depend only on arrival order: deterministic for tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fake_model {

struct GpuOptions {
    int slots = 0;                     // requests run at once; 0: no simulation
    double prefill_tps = 8000;         // prompt tokens prefilled per second (per request)
    double decode_tps = 50;            // tokens generated per second per running request
    std::uint64_t kv_tokens = 200000;  // KV-cache capacity; the prefix cache lives in it
    int block_tokens = 16;             // prefix-cache block (vLLM's default block size)
    int metrics_lag_ms = 0;            // /metrics reports the state of this long ago
    int max_output_tokens = 4096;      // cap on a request's max_tokens

    bool enabled() const { return slots > 0; }
    // Reads `--gpu-NAME VALUE`; an error message, or "" when it was read.
    std::string set(std::string_view flag, std::string_view value);
};

// When a request's tokens come out.
struct GpuPlan {
    std::chrono::steady_clock::time_point first_token;
    std::chrono::steady_clock::duration per_token;
    int output_tokens = 0;
    std::uint64_t prompt_tokens = 0;
    std::uint64_t cached_tokens = 0;
};

class GpuEngine {
public:
    using clock = std::chrono::steady_clock;
    explicit GpuEngine(const GpuOptions& options);

    bool enabled() const { return options_.enabled(); }
    // Schedules a completion request arriving `now`; `default_tokens` when it sets no max_tokens.
    GpuPlan admit(std::string_view body, int default_tokens, clock::time_point now);
    // /metrics in vLLM's format; `running` is reported when the simulation is off.
    std::string metrics_text(clock::time_point now, std::string_view model, std::uint64_t running);
    // Whether /metrics is answered by this engine (simulation on, or a test override set).
    bool serves_metrics() const;

    // Test controls (POST /fake/engine/...): report this many waiting requests (nullopt: the
    // real count), make /metrics fail (500) or answer without any engine figures, write it in
    // Triton's names (TensorRT-LLM backend) instead of vLLM's, and report these LoRA adapters
    // as running (vLLM's vllm:lora_requests_info; "" reports none).
    enum class MetricsMode { normal, fail, garbage };
    enum class MetricsFormat { vllm, triton };
    void override_waiting(std::optional<int> waiting);
    void set_metrics_mode(MetricsMode mode);
    MetricsMode metrics_mode() const;
    void set_metrics_format(MetricsFormat format);
    void set_lora_adapters(std::string adapters);
    // Applies "waiting/N", "waiting/off", "metrics/ok|fail|garbage", "format/vllm|triton",
    // "lora/A,B", "lora/off"; the JSON answer, or nullopt when `what` is none of them.
    std::optional<std::string> control(std::string_view what);

private:
    struct Scheduled {
        clock::time_point arrival, start, end;
        std::uint64_t tokens;  // prompt + output: the KV cache it holds while running
    };
    struct Counts {
        double waiting = 0, running = 0, kv_usage = 0;
    };
    Counts counts_at(clock::time_point at) const;
    std::string vllm_text(const Counts& counts, std::string_view model) const;
    std::string triton_text(const Counts& counts, std::string_view model) const;
    std::uint64_t cached_prefix(const std::vector<std::uint64_t>& blocks);

    const GpuOptions options_;
    mutable std::mutex mutex_;                  // the server may run several threads
    std::vector<clock::time_point> slot_free_;  // when each slot is next free
    std::vector<Scheduled> scheduled_;          // kept until past the metrics lag
    std::list<std::uint64_t> lru_;              // prefix-cache blocks, most recent first
    std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> cached_;
    std::uint64_t prefix_queries_ = 0, prefix_hits_ = 0;  // in tokens, as vLLM V1 counts
    std::uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
    std::optional<int> waiting_override_;
    MetricsMode metrics_mode_ = MetricsMode::normal;
    MetricsFormat metrics_format_ = MetricsFormat::vllm;
    std::string lora_adapters_;  // comma-separated, as vLLM writes the label
};

}  // namespace fake_model
