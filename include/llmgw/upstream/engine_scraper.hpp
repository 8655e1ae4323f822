// Engine metrics: each endpoint of a backend with `engine` set has its /metrics read on an
// interval; the figures go to the endpoint's EngineSignals for the engine_aware balancer.
// A failing scrape only counts a failure: it never takes an endpoint out of rotation.
// Runs on the admin thread, away from request traffic, as the health checks do.
#pragma once

#include <memory>
#include <vector>

#include "llmgw/http/beast.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::upstream {

// The most of a /metrics body read (vLLM's is ~100 KB with many models and LoRA adapters).
inline constexpr std::size_t max_metrics_body = 4 * 1024 * 1024;

// Where an endpoint's metrics are read: the endpoint itself, or, with engine_metrics.port set
// (Triton serves them on 8002), that port of the endpoint's host, same scheme; its url names
// the metrics URL (logs).
config::Endpoint metrics_endpoint(const config::Endpoint& endpoint,
                                  const config::EngineMetricsConfig& settings);

// Starts one scraping loop per endpoint of each backend whose engine is not none. A loop
// ends when its backend is retired (a reload dropped or changed it) or the executor stops.
void start_engine_scrapes(http::Executor executor,
                          const std::vector<std::shared_ptr<BackendState>>& backends);

}  // namespace llmgw::upstream
