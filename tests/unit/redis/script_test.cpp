// Specification of redis::Script: the SHA1 Redis itself computes for a script.
#include "llmgw/redis/script.hpp"

#include <gtest/gtest.h>

#include "support/redis_server.hpp"

namespace llmgw::redis {
namespace {

TEST(RedisScript, Sha1IsLowercaseHexOfTheSource) {
    EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(Script("return 1").source(), "return 1");
}

TEST(RedisScript, Sha1MatchesWhatScriptLoadReturns) {
    auto server = testing::RedisServer::start();
    const Script script("return redis.call('GET', KEYS[1])");
    EXPECT_EQ(server.cli({"SCRIPT", "LOAD", script.source()}), script.sha1());
    server.stop();
}

}  // namespace
}  // namespace llmgw::redis
