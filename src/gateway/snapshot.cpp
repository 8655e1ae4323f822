// Building a snapshot from a validated config, reusing the unchanged backends' state.
#include "llmgw/gateway/snapshot.hpp"

#include <algorithm>

namespace llmgw::gateway {

Snapshot::Snapshot(std::shared_ptr<const config::Config> config, std::uint64_t version,
                   const Snapshot* previous, const store::DirectorySource* directory)
    : config_(std::move(config)),
      version_(version),
      authenticator_(*config_, directory),
      jwks_refresher_(authenticator_.url_verifiers()),
      routes_(config_->routes),
      trusted_proxies_(config_->server.trusted_proxies) {
    for (const auto& backend : config_->backends) {
        std::shared_ptr<upstream::BackendState> state;
        if (previous != nullptr) {
            const auto& old = previous->backends_;
            const auto same = std::find_if(old.begin(), old.end(), [&](const auto& candidate) {
                return candidate->config() == backend;
            });
            if (same != old.end()) state = *same;
        }
        carried_over_.push_back(state != nullptr);
        if (!state) state = std::make_shared<upstream::BackendState>(backend);
        backends_.push_back(std::move(state));
    }
    authenticator_.on_unknown_kid(
        [this](const auth::JwtVerifier& verifier) { jwks_refresher_.unknown_kid_seen(verifier); });
}

Snapshot::~Snapshot() = default;

void Snapshot::start_jwks() { jwks_refresher_.start(); }

std::vector<std::shared_ptr<upstream::BackendState>> Snapshot::new_backends() const {
    std::vector<std::shared_ptr<upstream::BackendState>> made;
    for (std::size_t i = 0; i < backends_.size(); ++i)
        if (!carried_over_[i]) made.push_back(backends_[i]);
    return made;
}

const config::Tier* Snapshot::tier(const std::string& name) const {
    for (const auto& tier : config_->tiers)
        if (tier.name == name) return &tier;
    return nullptr;
}

}  // namespace llmgw::gateway
