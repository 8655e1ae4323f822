// Whose x-forwarded-for is believed, and the client address it gives.
#include "llmgw/http/trusted_proxies.hpp"

#include <gtest/gtest.h>

using llmgw::http::TrustedProxies;

namespace {
TrustedProxies proxies(std::vector<std::string> cidrs) {
    std::string bad;
    auto parsed = TrustedProxies::parse(cidrs, &bad);
    EXPECT_TRUE(parsed) << bad;
    return parsed.value_or(TrustedProxies{});
}
}  // namespace

TEST(TrustedProxies, MatchesIpv4AndIpv6Networks) {
    const auto trusted = proxies({"10.0.0.0/8", "192.168.1.7", "fd00::/8"});
    EXPECT_TRUE(trusted.contains("10.1.2.3"));
    EXPECT_FALSE(trusted.contains("11.0.0.1"));
    EXPECT_TRUE(trusted.contains("192.168.1.7"));
    EXPECT_FALSE(trusted.contains("192.168.1.8"));
    EXPECT_TRUE(trusted.contains("fd12::1"));
    EXPECT_FALSE(trusted.contains("fe80::1"));
    EXPECT_FALSE(trusted.contains("not an address"));
}

TEST(TrustedProxies, RefusesBadCidrs) {
    std::string bad;
    EXPECT_FALSE(TrustedProxies::parse({"10.0.0.0/33"}, &bad));
    EXPECT_EQ(bad, "10.0.0.0/33");
    EXPECT_FALSE(TrustedProxies::parse({"example.com"}, &bad));
    EXPECT_FALSE(TrustedProxies::parse({"10.0.0.0/x"}, &bad));
}

TEST(TrustedProxies, AnUntrustedPeersClaimIsReplaced) {
    const auto trusted = proxies({"10.0.0.0/8"});
    EXPECT_EQ(trusted.forwarded_for("203.0.113.9", "6.6.6.6"), "203.0.113.9");
    EXPECT_EQ(trusted.client_address("203.0.113.9", "6.6.6.6"), "203.0.113.9");
}

TEST(TrustedProxies, ATrustedPeerExtendsTheChainAndTheClientIsTheFirstUntrustedFromTheRight) {
    const auto trusted = proxies({"10.0.0.0/8"});
    EXPECT_EQ(trusted.forwarded_for("10.0.0.2", "198.51.100.4, 10.0.0.9"), "198.51.100.4, 10.0.0.9, 10.0.0.2");
    EXPECT_EQ(trusted.client_address("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9"), "198.51.100.4");
    EXPECT_EQ(trusted.client_address("10.0.0.2", ""), "10.0.0.2");
    EXPECT_EQ(trusted.client_address("10.0.0.2", "garbage, 10.0.0.9"), "10.0.0.9");
}
