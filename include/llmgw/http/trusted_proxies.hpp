// Which peers may tell llmgw who the client is (x-forwarded-for): the configured proxy
// networks (server.trusted_proxies). Everyone else's x-forwarded-for is ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/config/cidr.hpp"

namespace llmgw::http {

class TrustedProxies {
public:
    TrustedProxies() = default;
    // The networks as the config parsed them.
    explicit TrustedProxies(std::vector<config::Cidr> networks) : networks_(std::move(networks)) {}
    // CIDRs such as "10.0.0.0/8", "fd00::/8" or single addresses; nullopt names the bad one.
    static std::optional<TrustedProxies> parse(const std::vector<std::string>& cidrs, std::string* bad);

    bool empty() const { return networks_.empty(); }
    bool contains(std::string_view address) const;

    // The x-forwarded-for to send upstream: the client's list extended by the peer when the
    // peer is trusted, otherwise just the peer.
    std::string forwarded_for(std::string_view peer, std::string_view client_header) const;
    // The client as far as trusted proxies vouch for it: walking the list from the right, the
    // first address that is not a trusted proxy.
    std::string client_address(std::string_view peer, std::string_view client_header) const;

private:
    std::vector<config::Cidr> networks_;
};

}  // namespace llmgw::http
