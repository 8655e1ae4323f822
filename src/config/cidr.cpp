// Parsing and matching of IP networks; IPv4 is mapped into IPv6 so one comparison serves both.
#include "llmgw/config/cidr.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace llmgw::config {

std::optional<IpBytes> parse_ip(std::string_view text) {
    namespace ip = boost::asio::ip;
    boost::system::error_code ec;
    auto address = ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    if (address.is_v4()) address = ip::make_address_v6(ip::v4_mapped, address.to_v4());
    return address.to_v6().to_bytes();
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const auto host = text.substr(0, slash);
    const auto bytes = parse_ip(host);
    const bool v4 = host.find(':') == std::string_view::npos;
    const unsigned bits = v4 ? 32 : 128;
    unsigned prefix = bits;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc{} || end != digits.data() + digits.size() || prefix > bits)
            return std::nullopt;
    }
    if (!bytes) return std::nullopt;
    return Cidr{std::string(text), *bytes, v4 ? prefix + 96 : prefix};
}

bool Cidr::contains(const IpBytes& candidate) const {
    unsigned bits = prefix;
    for (std::size_t i = 0; i < candidate.size() && bits > 0; ++i) {
        const auto mask =
            bits >= 8 ? std::uint8_t{0xff} : static_cast<std::uint8_t>(0xff << (8 - bits));
        if ((candidate[i] & mask) != (address[i] & mask)) return false;
        bits = bits >= 8 ? bits - 8 : 0;
    }
    return true;
}

}  // namespace llmgw::config
