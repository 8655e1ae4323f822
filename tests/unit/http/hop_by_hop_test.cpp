// Hop-by-hop header rules (RFC 9110 §7.6.1).
#include "llmgw/http/hop_by_hop.hpp"

#include <gtest/gtest.h>

using namespace llmgw::http;

TEST(HopByHop, ConnectionTokensAreTrimmedLowerCasedAndEmptyOnesDropped) {
    EXPECT_EQ(connection_tokens(" Keep-Alive ,X-Private,, close"),
              (std::vector<std::string>{"keep-alive", "x-private", "close"}));
    EXPECT_TRUE(connection_tokens("").empty());
}

TEST(HopByHop, KnowsTheFixedSetCaseInsensitively) {
    for (auto name : {"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                      "Proxy-Connection", "proxy-authorization"})
        EXPECT_TRUE(is_hop_by_hop(name)) << name;
    for (auto name : {"content-type", "authorization", "x-request-id", "traceparent"})
        EXPECT_FALSE(is_hop_by_hop(name)) << name;
}

TEST(HopByHop, HeadersTheGatewaySetsCannotBeRemovedThroughConnection) {
    EXPECT_TRUE(is_set_by_gateway("X-Forwarded-For"));
    EXPECT_TRUE(is_set_by_gateway("x-request-id"));
    EXPECT_FALSE(is_set_by_gateway("x-private"));
}
