// The metric names of each engine, and how a scrape's samples become its figures.
#include "llmgw/upstream/engine_figures.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "llmgw/upstream/prometheus_text.hpp"

namespace llmgw::upstream {

namespace {

// waiting_fallback: read only when the body has no `waiting` figure of its own.
enum class Figure { waiting, running, kv_usage, waiting_fallback };

// A sample that gives a figure: its name and, for engines that put the kind in a label
// (Triton's TensorRT-LLM backend), that label's value.
struct MetricName {
    std::string_view name;
    Figure figure;
    std::string_view label = {};
    std::string_view label_value = {};
};

// From the engines' sources and docs (the Gateway API Inference Extension lists the same).
constexpr MetricName vllm_names[] = {
    {"vllm:num_requests_waiting", Figure::waiting},
    {"vllm:num_requests_running", Figure::running},
    {"vllm:kv_cache_usage_perc", Figure::kv_usage},   // V1 (0..1 despite the name)
    {"vllm:gpu_cache_usage_perc", Figure::kv_usage},  // before V1
};
constexpr MetricName sglang_names[] = {
    {"sglang:num_queue_reqs", Figure::waiting},
    {"sglang:num_running_reqs", Figure::running},
    {"sglang:token_usage", Figure::kv_usage},
};
// trtllm-serve's Prometheus names (Dynamo republishes them with a "trtllm:" prefix).
constexpr MetricName trtllm_names[] = {
    {"trtllm_num_requests_waiting", Figure::waiting},
    {"trtllm_num_requests_running", Figure::running},
    {"trtllm_kv_cache_utilization", Figure::kv_usage},
    {"trtllm:num_requests_waiting", Figure::waiting},
    {"trtllm:num_requests_running", Figure::running},
    {"trtllm:kv_cache_utilization", Figure::kv_usage},
};
// Triton with the TensorRT-LLM backend; a plain Triton model reports only its pending count.
constexpr MetricName triton_names[] = {
    {"nv_trt_llm_request_metrics", Figure::waiting, "request_type", "waiting"},
    {"nv_trt_llm_request_metrics", Figure::running, "request_type", "scheduled"},
    {"nv_trt_llm_kv_cache_block_metrics", Figure::kv_usage, "kv_cache_block_type", "fraction"},
    {"nv_inference_pending_request_count", Figure::waiting_fallback},
};

std::span<const MetricName> names_of(config::EngineKind engine) {
    switch (engine) {
        case config::EngineKind::vllm:
            return vllm_names;
        case config::EngineKind::sglang:
            return sglang_names;
        case config::EngineKind::trtllm:
            return trtllm_names;
        case config::EngineKind::triton:
            return triton_names;
        case config::EngineKind::none:
            break;
    }
    return {};
}

void add(std::optional<double>& figure, Figure kind, double value) {
    if (kind == Figure::kv_usage)
        figure = std::max(figure.value_or(0), std::clamp(value, 0.0, 1.0));
    else
        figure = figure.value_or(0) + std::max(value, 0.0);
}

// vllm:lora_requests_info carries the adapters in a label; the newest series (its value is
// the time it was updated) is the current one.
void read_lora(const PrometheusSample& sample, double& newest, EngineFigures& figures) {
    if (sample.name != "vllm:lora_requests_info" || sample.value < newest) return;
    const auto running = label_value(sample.labels, "running_lora_adapters");
    if (!running) return;
    newest = sample.value;
    figures.lora_adapters.clear();
    std::string_view rest = *running;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        auto item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) figures.lora_adapters.emplace_back(item);
    }
}

}  // namespace

EngineFigures read_engine_figures(config::EngineKind engine, std::string_view body) {
    EngineFigures figures;
    const auto names = names_of(engine);
    double newest_lora = -1;
    std::optional<double> fallback;
    read_prometheus_text(body, [&](const PrometheusSample& sample) {
        if (std::isnan(sample.value)) return;
        if (engine == config::EngineKind::vllm) read_lora(sample, newest_lora, figures);
        for (const auto& metric : names) {
            if (sample.name != metric.name) continue;
            if (!metric.label.empty() &&
                label_value(sample.labels, metric.label) != metric.label_value)
                continue;
            auto& figure = metric.figure == Figure::waiting    ? figures.waiting
                           : metric.figure == Figure::running  ? figures.running
                           : metric.figure == Figure::kv_usage ? figures.kv_usage
                                                               : fallback;
            add(figure, metric.figure, sample.value);
        }
    });
    if (!figures.waiting) figures.waiting = fallback;
    return figures;
}

}  // namespace llmgw::upstream
