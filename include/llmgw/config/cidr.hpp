// IP networks as the config holds them (server.trusted_proxies): parsed once at load, matched
// against peer addresses on the request path without parsing the config text again.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::config {

// An IPv4 or IPv6 address as 16 bytes, IPv4 mapped into IPv6 (::ffff:a.b.c.d).
using IpBytes = std::array<std::uint8_t, 16>;

// "10.1.2.3", "fd00::1"; nullopt when `text` is not an address.
std::optional<IpBytes> parse_ip(std::string_view text);

struct Cidr {
    std::string text;  // as written, for /admin/config
    IpBytes address{};
    unsigned prefix = 0;  // in bits of the 128 (an IPv4 /8 is 104)

    bool contains(const IpBytes& address) const;
    bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "fd00::/8" or a single address; nullopt when it is neither.
std::optional<Cidr> parse_cidr(std::string_view text);

}  // namespace llmgw::config
