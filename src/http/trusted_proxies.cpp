// CIDR matching for trusted proxies, and the client address they vouch for.
#include "llmgw/http/trusted_proxies.hpp"

#include <algorithm>

namespace llmgw::http {

namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& cidrs, std::string* bad) {
    std::vector<config::Cidr> networks;
    for (const auto& text : cidrs) {
        auto cidr = config::parse_cidr(text);
        if (!cidr) {
            if (bad != nullptr) *bad = text;
            return std::nullopt;
        }
        networks.push_back(std::move(*cidr));
    }
    return TrustedProxies(std::move(networks));
}

bool TrustedProxies::contains(std::string_view text) const {
    if (networks_.empty()) return false;  // no proxy trusted (the default): no address to parse
    const auto bytes = config::parse_ip(trim(text));
    if (!bytes) return false;
    return std::any_of(networks_.begin(), networks_.end(),
                       [&](const config::Cidr& network) { return network.contains(*bytes); });
}

std::string TrustedProxies::forwarded_for(std::string_view peer, std::string_view client_header) const {
    const auto listed = trim(client_header);
    if (listed.empty() || !contains(peer)) return std::string(peer);
    return std::string(listed) + ", " + std::string(peer);
}

std::string TrustedProxies::client_address(std::string_view peer, std::string_view client_header) const {
    if (!contains(peer)) return std::string(peer);
    std::string_view rest = client_header;
    std::string_view last_trusted = peer;
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const auto hop = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (hop.empty()) continue;
        if (!config::parse_ip(hop)) return std::string(last_trusted);  // garbage: stop at what is vouched for
        if (!contains(hop)) return std::string(hop);
        last_trusted = hop;
    }
    return std::string(last_trusted);
}

}  // namespace llmgw::http
