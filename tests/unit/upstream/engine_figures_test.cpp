// Each engine's metric names give its waiting and running requests and its KV-cache use.
#include "llmgw/upstream/engine_figures.hpp"

#include <gtest/gtest.h>

using llmgw::config::EngineKind;
using llmgw::upstream::read_engine_figures;

TEST(EngineFigures, VllmCurrentNamesSumRanksAndKeepTheFullestCache) {
    const auto figures = read_engine_figures(EngineKind::vllm,
                                             "vllm:num_requests_waiting{engine=\"0\"} 3\n"
                                             "vllm:num_requests_waiting{engine=\"1\"} 4\n"
                                             "vllm:num_requests_running{engine=\"0\"} 16\n"
                                             "vllm:kv_cache_usage_perc{engine=\"0\"} 0.25\n"
                                             "vllm:kv_cache_usage_perc{engine=\"1\"} 0.75\n");
    EXPECT_EQ(figures.waiting, 7.0);
    EXPECT_EQ(figures.running, 16.0);
    EXPECT_EQ(figures.kv_usage, 0.75);
}

TEST(EngineFigures, VllmOlderCacheName) {
    const auto figures =
        read_engine_figures(EngineKind::vllm, "vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.5\n");
    EXPECT_EQ(figures.kv_usage, 0.5);
    EXPECT_FALSE(figures.waiting);
    EXPECT_TRUE(figures.any());
}

TEST(EngineFigures, VllmRunningLoraAdaptersFromTheNewestSeries) {
    const auto figures =
        read_engine_figures(EngineKind::vllm,
                            "vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\"old\","
                            "waiting_lora_adapters=\"\"} 100\n"
                            "vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\"sql-"
                            "lora, chat-lora\",waiting_lora_adapters=\"\"} 200\n"
                            "vllm:num_requests_waiting 0\n");
    EXPECT_EQ(figures.lora_adapters, (std::vector<std::string>{"sql-lora", "chat-lora"}));
}

TEST(EngineFigures, SglangNames) {
    const auto figures = read_engine_figures(EngineKind::sglang,
                                             "sglang:num_queue_reqs{model_name=\"m\"} 12\n"
                                             "sglang:num_running_reqs{model_name=\"m\"} 30\n"
                                             "sglang:token_usage{model_name=\"m\"} 0.9\n"
                                             "vllm:num_requests_waiting 99\n");
    EXPECT_EQ(figures.waiting, 12.0);
    EXPECT_EQ(figures.running, 30.0);
    EXPECT_EQ(figures.kv_usage, 0.9);
}

TEST(EngineFigures, TrtllmServeNames) {
    const auto figures = read_engine_figures(EngineKind::trtllm,
                                             "trtllm_num_requests_waiting 2\n"
                                             "trtllm_num_requests_running 5\n"
                                             "trtllm_kv_cache_utilization 0.4\n");
    EXPECT_EQ(figures.waiting, 2.0);
    EXPECT_EQ(figures.running, 5.0);
    EXPECT_EQ(figures.kv_usage, 0.4);
}

TEST(EngineFigures, TritonTensorrtLlmBackendLabels) {
    const auto figures = read_engine_figures(
        EngineKind::triton,
        "nv_trt_llm_request_metrics{model=\"tensorrt_llm\",request_type=\"waiting\",version=\"1\"} "
        "6\n"
        "nv_trt_llm_request_metrics{model=\"tensorrt_llm\",request_type=\"scheduled\",version="
        "\"1\"} 8\n"
        "nv_trt_llm_request_metrics{model=\"tensorrt_llm\",request_type=\"max\",version=\"1\"} 64\n"
        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"fraction\",model=\"tensorrt_llm\","
        "version=\"1\"} 0.3\n"
        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\",model=\"tensorrt_llm\","
        "version=\"1\"} 4000\n"
        "nv_inference_pending_request_count{model=\"ensemble\",version=\"1\"} 50\n");
    EXPECT_EQ(figures.waiting, 6.0);  // the pending count is only a fallback
    EXPECT_EQ(figures.running, 8.0);
    EXPECT_EQ(figures.kv_usage, 0.3);
}

TEST(EngineFigures, PlainTritonFallsBackToPendingRequests) {
    const auto figures =
        read_engine_figures(EngineKind::triton,
                            "nv_inference_pending_request_count{model=\"a\",version=\"1\"} 3\n"
                            "nv_inference_pending_request_count{model=\"b\",version=\"1\"} 2\n");
    EXPECT_EQ(figures.waiting, 5.0);
}

TEST(EngineFigures, ABodyWithoutTheEnginesNamesHasNoFigures) {
    EXPECT_FALSE(read_engine_figures(EngineKind::vllm, "process_cpu_seconds_total 12\n").any());
    EXPECT_FALSE(read_engine_figures(EngineKind::vllm, "<html>not metrics</html>").any());
}
