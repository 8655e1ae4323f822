// Active health checks: each endpoint of a backend with `health_check` is asked for its
// health path on an interval; enough failures in a row take it out of rotation, enough
// passes bring it back. Runs on the admin thread, away from request traffic.
#pragma once

#include <memory>
#include <vector>

#include "llmgw/http/beast.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::upstream {

class HealthChecker {
public:
    explicit HealthChecker(std::vector<std::unique_ptr<BackendState>>& backends);
    // Starts one checking loop per endpoint on `executor`; they run until it stops.
    void start(http::net::any_io_executor executor);

private:
    std::vector<std::unique_ptr<BackendState>>& backends_;
};

}  // namespace llmgw::upstream
