// Which peers may tell llmgw who the client is (x-forwarded-for): the configured proxy
// networks (server.trusted_proxies). Everyone else's x-forwarded-for is ignored.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::http {

class TrustedProxies {
public:
    TrustedProxies() = default;
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
    struct Network {
        std::array<std::uint8_t, 16> address{};  // IPv4 mapped into IPv6
        unsigned prefix = 0;                       // in bits of the 128
    };
    std::vector<Network> networks_;
};

}  // namespace llmgw::http
