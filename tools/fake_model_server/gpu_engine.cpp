// The simulated engine: the schedule of each request, its prefix-cache hits, and /metrics.
#include "gpu_engine.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace fake_model {

namespace {

constexpr std::size_t bytes_per_token = 4;

std::optional<double> number(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

// The prompt as an engine tokenizes it: each chat message's role and text in order, or the
// completion prompt.
std::string prompt_of(const nlohmann::json& body) {
    std::string out;
    auto add_content = [&out](const nlohmann::json& content) {
        if (content.is_string()) out += content.get<std::string>();
        if (content.is_array())
            for (const auto& part : content)
                if (part.is_object() && part.contains("text") && part["text"].is_string())
                    out += part["text"].get<std::string>();
    };
    if (body.contains("messages") && body["messages"].is_array()) {
        for (const auto& message : body["messages"]) {
            if (!message.is_object()) continue;
            if (message.contains("role") && message["role"].is_string())
                out += message["role"].get<std::string>();
            out += '\x1f';
            if (message.contains("content")) add_content(message["content"]);
            out += '\x1e';
        }
    } else if (body.contains("prompt")) {
        add_content(body["prompt"]);
    }
    return out;
}

// Chained FNV-1a hashes of the full blocks of `text`.
std::vector<std::uint64_t> blocks_of(std::string_view text, std::size_t block_bytes) {
    std::vector<std::uint64_t> blocks;
    std::uint64_t chain = 14695981039346656037ull;
    for (std::size_t at = 0; at + block_bytes <= text.size(); at += block_bytes) {
        for (const char c : text.substr(at, block_bytes)) {
            chain ^= static_cast<unsigned char>(c);
            chain *= 1099511628211ull;
        }
        blocks.push_back(chain);
    }
    return blocks;
}

}  // namespace

std::string GpuOptions::set(std::string_view flag, std::string_view value) {
    const auto parsed = number(value);
    if (!parsed) return std::string(flag) + ": expected a number >= 0";
    const auto v = *parsed;
    if (flag == "--gpu-slots")
        slots = static_cast<int>(v);
    else if (flag == "--gpu-prefill-tps" && v > 0)
        prefill_tps = v;
    else if (flag == "--gpu-decode-tps" && v > 0)
        decode_tps = v;
    else if (flag == "--gpu-kv-tokens" && v >= 1)
        kv_tokens = static_cast<std::uint64_t>(v);
    else if (flag == "--gpu-block-tokens" && v >= 1)
        block_tokens = static_cast<int>(v);
    else if (flag == "--gpu-metrics-lag-ms")
        metrics_lag_ms = static_cast<int>(v);
    else if (flag == "--gpu-max-output-tokens" && v >= 1)
        max_output_tokens = static_cast<int>(v);
    else
        return "unknown option or value out of range: " + std::string(flag);
    return "";
}

GpuEngine::GpuEngine(const GpuOptions& options)
    : options_(options), slot_free_(static_cast<std::size_t>(std::max(options.slots, 0))) {}

std::uint64_t GpuEngine::cached_prefix(const std::vector<std::uint64_t>& blocks) {
    std::size_t hit = 0;
    while (hit < blocks.size() && cached_.contains(blocks[hit])) ++hit;
    // Every block becomes the most recent, the first one last (tails are evicted first).
    const auto capacity = std::max<std::uint64_t>(1, options_.kv_tokens / options_.block_tokens);
    for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
        if (const auto found = cached_.find(*block); found != cached_.end()) {
            lru_.splice(lru_.begin(), lru_, found->second);
            continue;
        }
        lru_.push_front(*block);
        cached_.emplace(*block, lru_.begin());
        if (lru_.size() > capacity) {
            cached_.erase(lru_.back());
            lru_.pop_back();
        }
    }
    return static_cast<std::uint64_t>(hit) * static_cast<std::uint64_t>(options_.block_tokens);
}

GpuPlan GpuEngine::admit(std::string_view body, int default_tokens, clock::time_point now) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    const auto prompt = json.is_object() ? prompt_of(json) : std::string(body);
    GpuPlan plan;
    plan.output_tokens = default_tokens;
    if (json.is_object() && json.contains("max_tokens") && json["max_tokens"].is_number_unsigned())
        plan.output_tokens = static_cast<int>(
            std::min<std::uint64_t>(json["max_tokens"].get<std::uint64_t>(),
                                    static_cast<std::uint64_t>(options_.max_output_tokens)));
    plan.prompt_tokens = std::max<std::uint64_t>(1, prompt.size() / bytes_per_token);
    const auto blocks =
        blocks_of(prompt, static_cast<std::size_t>(options_.block_tokens) * bytes_per_token);
    const std::scoped_lock lock(mutex_);
    plan.cached_tokens = std::min(cached_prefix(blocks), plan.prompt_tokens);
    prefix_queries_ += plan.prompt_tokens;
    prefix_hits_ += plan.cached_tokens;
    prompt_tokens_ += plan.prompt_tokens;
    generation_tokens_ += static_cast<std::uint64_t>(plan.output_tokens);
    const auto seconds = [](double s) {
        return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
    };
    const auto prefill = seconds(static_cast<double>(plan.prompt_tokens - plan.cached_tokens) /
                                 options_.prefill_tps);
    plan.per_token = seconds(1.0 / options_.decode_tps);
    // FIFO over the slots: the request starts when the earliest slot frees up.
    const auto slot = std::min_element(slot_free_.begin(), slot_free_.end());
    const auto start = std::max(now, *slot);
    plan.first_token = start + prefill;
    const auto end = plan.first_token + plan.per_token * plan.output_tokens;
    *slot = end;
    const auto keep = std::chrono::milliseconds(options_.metrics_lag_ms) + std::chrono::seconds(1);
    std::erase_if(scheduled_, [&](const Scheduled& s) { return s.end + keep < now; });
    scheduled_.push_back(
        {now, start, end, plan.prompt_tokens + static_cast<std::uint64_t>(plan.output_tokens)});
    return plan;
}

GpuEngine::Counts GpuEngine::counts_at(clock::time_point at) const {
    Counts counts;
    double tokens = 0;
    for (const auto& s : scheduled_) {
        if (s.arrival > at || s.end <= at) continue;
        if (at < s.start) {
            ++counts.waiting;
        } else {
            ++counts.running;
            tokens += static_cast<double>(s.tokens);
        }
    }
    counts.kv_usage = std::min(1.0, tokens / static_cast<double>(options_.kv_tokens));
    return counts;
}

bool GpuEngine::serves_metrics() const {
    const std::scoped_lock lock(mutex_);
    return options_.enabled() || waiting_override_ || metrics_mode_ != MetricsMode::normal ||
           !lora_adapters_.empty() || metrics_format_ != MetricsFormat::vllm;
}

void GpuEngine::override_waiting(std::optional<int> waiting) {
    const std::scoped_lock lock(mutex_);
    waiting_override_ = waiting;
}

void GpuEngine::set_metrics_mode(MetricsMode mode) {
    const std::scoped_lock lock(mutex_);
    metrics_mode_ = mode;
}

void GpuEngine::set_metrics_format(MetricsFormat format) {
    const std::scoped_lock lock(mutex_);
    metrics_format_ = format;
}

void GpuEngine::set_lora_adapters(std::string adapters) {
    const std::scoped_lock lock(mutex_);
    lora_adapters_ = std::move(adapters);
}

namespace {

// Adapter names as a label value holds them unescaped: no quote, backslash or newline.
bool plain_names(std::string_view names) {
    return !names.empty() && names.find_first_of("\"\\\n") == std::string_view::npos;
}

}  // namespace

std::optional<std::string> GpuEngine::control(std::string_view what) {
    if (what == "format/vllm" || what == "format/triton") {
        set_metrics_format(what == "format/vllm" ? MetricsFormat::vllm : MetricsFormat::triton);
        return "{\"format\":\"" + std::string(what.substr(7)) + "\"}";
    }
    if (what == "lora/off") {
        set_lora_adapters("");
        return R"({"lora":""})";
    }
    if (what.starts_with("lora/")) {
        if (!plain_names(what.substr(5))) return std::nullopt;
        set_lora_adapters(std::string(what.substr(5)));
        return nlohmann::json{{"lora", std::string(what.substr(5))}}.dump();
    }
    if (what == "waiting/off") {
        override_waiting(std::nullopt);
        return R"({"waiting":null})";
    }
    if (what.starts_with("waiting/")) {
        const auto value = number(what.substr(8));
        if (!value) return std::nullopt;
        override_waiting(static_cast<int>(*value));
        return "{\"waiting\":" + std::to_string(static_cast<int>(*value)) + "}";
    }
    const std::pair<std::string_view, MetricsMode> modes[] = {
        {"metrics/ok", MetricsMode::normal},
        {"metrics/fail", MetricsMode::fail},
        {"metrics/garbage", MetricsMode::garbage}};
    for (const auto& [name, mode] : modes) {
        if (what != name) continue;
        set_metrics_mode(mode);
        return "{\"metrics\":\"" + std::string(name.substr(8)) + "\"}";
    }
    return std::nullopt;
}

GpuEngine::MetricsMode GpuEngine::metrics_mode() const {
    const std::scoped_lock lock(mutex_);
    return metrics_mode_;
}

std::string GpuEngine::metrics_text(clock::time_point now, std::string_view model,
                                    std::uint64_t running) {
    const std::scoped_lock lock(mutex_);
    Counts counts{0, static_cast<double>(running), 0};
    if (options_.enabled())
        counts = counts_at(now - std::chrono::milliseconds(options_.metrics_lag_ms));
    if (waiting_override_) counts.waiting = *waiting_override_;
    if (metrics_format_ == MetricsFormat::triton) return triton_text(counts, model);
    return vllm_text(counts, model);
}

std::string GpuEngine::vllm_text(const Counts& counts, std::string_view model) const {
    const std::string labels = "{model_name=\"" + std::string(model) + "\"}";
    std::string out;
    auto add = [&](std::string_view name, std::string_view type, double value) {
        out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
        out.append(name).append(labels).append(" ").append(std::to_string(value)).append("\n");
    };
    add("vllm:num_requests_running", "gauge", counts.running);
    add("vllm:num_requests_waiting", "gauge", counts.waiting);
    add("vllm:kv_cache_usage_perc", "gauge", counts.kv_usage);
    add("vllm:prefix_cache_queries_total", "counter", static_cast<double>(prefix_queries_));
    add("vllm:prefix_cache_hits_total", "counter", static_cast<double>(prefix_hits_));
    add("vllm:prompt_tokens_total", "counter", static_cast<double>(prompt_tokens_));
    add("vllm:generation_tokens_total", "counter", static_cast<double>(generation_tokens_));
    if (!lora_adapters_.empty()) {
        // vLLM's form: an info gauge whose value is the time it was last updated.
        const auto updated =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
        out.append("# TYPE vllm:lora_requests_info gauge\n");
        out.append("vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\"")
            .append(lora_adapters_)
            .append("\",waiting_lora_adapters=\"\"} ")
            .append(std::to_string(updated.count()))
            .append("\n");
    }
    return out;
}

// Triton with the TensorRT-LLM backend: the kinds sit in labels of two gauges, and the
// server-wide pending count is per model and version.
std::string GpuEngine::triton_text(const Counts& counts, std::string_view model) const {
    const std::string labels = "model=\"" + std::string(model) + "\",version=\"1\"";
    std::string out;
    auto add = [&](std::string_view name, std::string_view kind, double value) {
        out.append(name).append("{").append(kind).append(kind.empty() ? "" : ",");
        out.append(labels).append("} ").append(std::to_string(value)).append("\n");
    };
    out.append("# TYPE nv_inference_pending_request_count gauge\n");
    add("nv_inference_pending_request_count", "", counts.waiting);
    out.append("# TYPE nv_trt_llm_request_metrics gauge\n");
    add("nv_trt_llm_request_metrics", "request_type=\"waiting\"", counts.waiting);
    add("nv_trt_llm_request_metrics", "request_type=\"scheduled\"", counts.running);
    add("nv_trt_llm_request_metrics", "request_type=\"max\"",
        static_cast<double>(std::max(options_.slots, 1)));
    out.append("# TYPE nv_trt_llm_kv_cache_block_metrics gauge\n");
    add("nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type=\"fraction\"", counts.kv_usage);
    return out;
}

}  // namespace fake_model
