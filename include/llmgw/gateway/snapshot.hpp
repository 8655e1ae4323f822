// One version of the configuration and everything built from it that requests read:
// authentication, routes, backends, tiers. A request keeps the snapshot it started with,
// so a reload never changes the rules under a request (or a stream) in flight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmgw/auth/authenticator.hpp"
#include "llmgw/auth/jwks_refresher.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/http/trusted_proxies.hpp"
#include "llmgw/routing/route_table.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::gateway {

class Snapshot;

// Where the snapshot new requests use comes from (the Gateway; a fixed one in tests).
class SnapshotSource {
public:
    virtual ~SnapshotSource() = default;
    virtual std::shared_ptr<Snapshot> snapshot() const = 0;
};

class Snapshot {
public:
    // `previous` (the running snapshot on a reload, else null) lends its backend state
    // (health, circuits, balancer position) to every backend whose config is unchanged.
    // `directory`: the store's consumers and keys, when a store is configured.
    Snapshot(std::shared_ptr<const config::Config> config, std::uint64_t version,
             const Snapshot* previous, const store::DirectorySource* directory = nullptr);
    ~Snapshot();
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;

    // Fetches remote JWKS (bounded by JwksRefresher::fetch_timeout) and keeps them fresh.
    void start_jwks();

    std::uint64_t version() const { return version_; }
    const config::Config& config() const { return *config_; }
    const std::shared_ptr<const config::Config>& config_ptr() const { return config_; }
    const auth::Authenticator& authenticator() const { return authenticator_; }
    const routing::RouteTable& routes() const { return routes_; }
    const http::TrustedProxies& trusted_proxies() const { return trusted_proxies_; }
    upstream::BackendState& backend(std::size_t index) const { return *backends_[index]; }
    const std::vector<std::shared_ptr<upstream::BackendState>>& backends() const {
        return backends_;
    }
    // Backends made for this snapshot (not carried over), for health checks to start on.
    std::vector<std::shared_ptr<upstream::BackendState>> new_backends() const;
    // The tier of that name, or nullptr.
    const config::Tier* tier(const std::string& name) const;

private:
    std::shared_ptr<const config::Config> config_;
    std::uint64_t version_;
    auth::Authenticator authenticator_;
    auth::JwksRefresher jwks_refresher_;
    routing::RouteTable routes_;
    http::TrustedProxies trusted_proxies_;
    std::vector<std::shared_ptr<upstream::BackendState>> backends_;
    std::vector<bool> carried_over_;
};

}  // namespace llmgw::gateway
