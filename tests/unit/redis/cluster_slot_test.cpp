// Specification of Redis Cluster key slots: CRC16 and hash tags as the Cluster specification
// gives them.
#include <gtest/gtest.h>

#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::redis {
namespace {

TEST(RedisClusterSlot, Crc16IsTheXmodemVariantOfTheSpecification) {
    EXPECT_EQ(crc16("123456789"), 0x31C3);  // the specification's check value
    EXPECT_EQ(crc16(""), 0);
}

TEST(RedisClusterSlot, AKeyWithoutATagHashesWhole) {
    EXPECT_EQ(key_slot("123456789"), 12739);
    EXPECT_EQ(key_slot("foo"), 12182);  // CLUSTER KEYSLOT foo
    EXPECT_EQ(key_slot("bar"), 5061);
}

TEST(RedisClusterSlot, AHashTagDecidesTheSlot) {
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
    EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("user1000"));
    EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar")) << "the first tag only";
    EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar")) << "from the first { to the next }";
    EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}")) << "an empty tag: the whole key";
    EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
    EXPECT_EQ(key_slot("foo{bar"), key_slot("foo{bar")) << "no closing brace: the whole key";
    EXPECT_EQ(key_slot("llmgw:rl:{acme}:gold:0"), key_slot("llmgw:cc:{acme}"));
}

}  // namespace
}  // namespace llmgw::redis
