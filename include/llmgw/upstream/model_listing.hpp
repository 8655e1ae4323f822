// The background loops that fill each backend's ModelCatalog from its GET /v1/models.
#pragma once

#include <memory>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::upstream {

// When some route answers /v1/models itself (`models: gateway`), starts one listing loop per
// backend of `backends` that has none yet, on `executor`. Each fetch carries the headers.set
// of the first route to that backend (an upstream API key). A loop ends when its backend is
// retired by a reload.
void start_model_listing(http::Executor executor,
                         const std::vector<std::shared_ptr<BackendState>>& backends,
                         const config::Config& config);

}  // namespace llmgw::upstream
