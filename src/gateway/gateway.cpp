// Builds the shared gateway state from a validated config.
#include "llmgw/gateway/gateway.hpp"

namespace llmgw::gateway {

Gateway::Gateway(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)),
      authenticator_(*config_),
      jwks_refresher_(authenticator_.url_verifiers()),
      routes_(config_->routes), access_log_(config_->logging.access_log) {
    for (const auto& backend : config_->backends)
        balancers_.push_back(std::make_unique<upstream::Balancer>(backend.endpoints));
    authenticator_.on_unknown_kid([this](const auth::JwtVerifier& verifier) { jwks_refresher_.unknown_kid_seen(verifier); });
}

void Gateway::start_background_work() { jwks_refresher_.start(); }

}  // namespace llmgw::gateway
