// The models a backend serves, as its endpoints' GET /v1/models lists them: fetched in the
// background and refreshed, so the gateway can answer /v1/models itself (routes with
// `models: gateway`) without ever asking a backend on a request's path.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>
#include <vector>

namespace llmgw::upstream {

class ModelCatalog {
public:
    // How often a backend's list is fetched again, and sooner after a failed fetch.
    static constexpr std::chrono::seconds refresh_interval{30};
    static constexpr std::chrono::seconds retry_interval{5};
    static constexpr std::chrono::seconds fetch_timeout{5};

    // The entries of the backend's last good answer ("data": model objects as the backend
    // wrote them); empty before the first one.
    std::shared_ptr<const std::vector<nlohmann::json>> models() const;
    void replace(std::vector<nlohmann::json> models);

    // Set once a listing loop runs for the backend (a reload that keeps it starts no other).
    std::atomic<bool> listing{false};

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const std::vector<nlohmann::json>> models_;
};

// The model objects of a /v1/models answer body; nullopt when it is not one.
std::optional<std::vector<nlohmann::json>> parse_model_list(std::string_view body);

}  // namespace llmgw::upstream
