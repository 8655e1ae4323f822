// Active health checks: each endpoint of a backend with `health_check` is asked for its
// health path on an interval; enough failures in a row take it out of rotation, enough
// passes bring it back. Runs on the admin thread, away from request traffic.
#pragma once

#include <memory>
#include <vector>

#include "llmgw/http/beast.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::upstream {

// Starts one checking loop per endpoint of each backend with `health_check`, on `executor`.
// A loop ends when its backend is retired (a reload dropped it) or the executor stops.
void start_health_checks(http::Executor executor,
                         const std::vector<std::shared_ptr<BackendState>>& backends);

}  // namespace llmgw::upstream
