// CIDR matching for trusted proxies, and the client address they vouch for.
#include "llmgw/http/trusted_proxies.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace llmgw::http {

namespace {

std::optional<std::array<std::uint8_t, 16>> as_v6_bytes(std::string_view text) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    if (address.is_v4()) address = boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4());
    return address.to_v6().to_bytes();
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& cidrs, std::string* bad) {
    TrustedProxies proxies;
    for (const auto& cidr : cidrs) {
        const auto slash = cidr.find('/');
        const auto host = std::string_view(cidr).substr(0, slash);
        auto bytes = as_v6_bytes(host);
        const bool v4 = host.find(':') == std::string_view::npos;
        unsigned prefix = v4 ? 32 : 128;
        if (slash != std::string::npos) {
            const auto digits = std::string_view(cidr).substr(slash + 1);
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
            if (ec != std::errc{} || end != digits.data() + digits.size() || prefix > (v4 ? 32u : 128u)) bytes.reset();
        }
        if (!bytes) {
            if (bad != nullptr) *bad = cidr;
            return std::nullopt;
        }
        proxies.networks_.push_back(Network{*bytes, v4 ? prefix + 96 : prefix});
    }
    return proxies;
}

bool TrustedProxies::contains(std::string_view text) const {
    const auto bytes = as_v6_bytes(trim(text));
    if (!bytes) return false;
    for (const auto& network : networks_) {
        unsigned bits = network.prefix;
        bool match = true;
        for (std::size_t i = 0; i < 16 && bits > 0 && match; ++i, bits = bits >= 8 ? bits - 8 : 0) {
            const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
            match = ((*bytes)[i] & mask) == (network.address[i] & mask);
        }
        if (match) return true;
    }
    return false;
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
        if (!as_v6_bytes(hop)) return std::string(last_trusted);  // garbage: stop at what is vouched for
        if (!contains(hop)) return std::string(hop);
        last_trusted = hop;
    }
    return std::string(last_trusted);
}

}  // namespace llmgw::http
