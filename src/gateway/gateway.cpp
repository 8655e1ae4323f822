// Builds the shared gateway state from a validated config.
#include "llmgw/gateway/gateway.hpp"

namespace llmgw::gateway {

Gateway::Gateway(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)), routes_(config_->routes), access_log_(config_->logging.access_log) {
    for (const auto& backend : config_->backends)
        balancers_.push_back(std::make_unique<upstream::Balancer>(backend.endpoints));
}

}  // namespace llmgw::gateway
