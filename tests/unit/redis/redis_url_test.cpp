// Specification of redis:// URL parsing, and of error messages that never leak the password.
#include "llmgw/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace llmgw::redis {
namespace {

RedisUrl parse_ok(std::string_view text) {
    std::string error;
    auto url = parse_redis_url(text, error);
    EXPECT_TRUE(url.has_value()) << text << ": " << error;
    return url.value_or(RedisUrl{});
}

std::string parse_error(std::string_view text) {
    std::string error;
    auto url = parse_redis_url(text, error);
    EXPECT_FALSE(url.has_value()) << text;
    EXPECT_FALSE(error.empty()) << text;
    return error;
}

TEST(RedisUrl, HostAloneTakesDefaultPortAndDatabase) {
    auto url = parse_ok("redis://127.0.0.1");
    EXPECT_EQ(url.host, "127.0.0.1");
    EXPECT_EQ(url.port, 6379);
    EXPECT_EQ(url.db, 0);
    EXPECT_TRUE(url.username.empty());
    EXPECT_TRUE(url.password.empty());
}

TEST(RedisUrl, HostPortAndDatabase) {
    auto url = parse_ok("redis://cache.internal:6380/3");
    EXPECT_EQ(url.host, "cache.internal");
    EXPECT_EQ(url.port, 6380);
    EXPECT_EQ(url.db, 3);
    EXPECT_EQ(parse_ok("redis://h:1/").db, 0);
}

TEST(RedisUrl, PasswordWithoutUser) {
    auto url = parse_ok("redis://:s3cret@10.0.0.5:6379/0");
    EXPECT_EQ(url.username, "");
    EXPECT_EQ(url.password, "s3cret");
    EXPECT_EQ(url.host, "10.0.0.5");
}

TEST(RedisUrl, UserAndPassword) {
    auto url = parse_ok("redis://gateway:s3cret@redis:6379/2");
    EXPECT_EQ(url.username, "gateway");
    EXPECT_EQ(url.password, "s3cret");
    EXPECT_EQ(url.host, "redis");
    EXPECT_EQ(url.db, 2);
}

TEST(RedisUrl, PasswordMayHoldReservedCharactersRawOrEscaped) {
    EXPECT_EQ(parse_ok("redis://:p@ss:w/rd@h:1").password, "p@ss:w/rd");
    EXPECT_EQ(parse_ok("redis://:p%40ss%2Fx@h:1").password, "p@ss/x");
}

TEST(RedisUrl, Ipv6LiteralInBrackets) {
    auto url = parse_ok("redis://[::1]:7000/1");
    EXPECT_EQ(url.host, "::1");
    EXPECT_EQ(url.port, 7000);
    EXPECT_EQ(url.db, 1);
    EXPECT_EQ(parse_ok("redis://[::1]").port, 6379);
}

TEST(RedisUrl, RedissMeansTlsWithTheSameParts) {
    auto url = parse_ok("rediss://gateway:s3cret@redis.internal:6380/2");
    EXPECT_TRUE(url.tls);
    EXPECT_EQ(url.host, "redis.internal");
    EXPECT_EQ(url.port, 6380);
    EXPECT_EQ(url.username, "gateway");
    EXPECT_EQ(url.db, 2);
    EXPECT_FALSE(parse_ok("redis://h").tls);
}

TEST(RedisUrl, MalformedUrlsAreRejectedWithAReason) {
    EXPECT_EQ(parse_error("http://h:1"), "must start with redis:// or rediss://");
    EXPECT_EQ(parse_error("rediss://"), "host is missing");
    EXPECT_EQ(parse_error("redis://"), "host is missing");
    EXPECT_EQ(parse_error("redis://:6379"), "host is missing");
    EXPECT_EQ(parse_error("redis://h:"), "port is empty");
    EXPECT_EQ(parse_error("redis://h:0"), "port must be a number from 1 to 65535");
    EXPECT_EQ(parse_error("redis://h:65536"), "port must be a number from 1 to 65535");
    EXPECT_EQ(parse_error("redis://h:12ab"), "port must be a number from 1 to 65535");
    EXPECT_NE(parse_error("redis://h:1/x").find("database"), std::string::npos);
    EXPECT_NE(parse_error("redis://h:1/-1").find("database"), std::string::npos);
    EXPECT_NE(parse_error("redis://h:1/0?timeout=1").find("query"), std::string::npos);
    EXPECT_NE(parse_error("redis://[::1:1").find("]"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverContainThePassword) {
    const std::string secret = "Hunter2SecretPw";
    for (std::string bad :
         {"redis://:" + secret, "redis://:" + secret + "@", "redis://:" + secret + "@h:x",
          "redis://user:" + secret + "@h:1/db", "redis://" + secret + "@h",
          "redis://u:" + secret + "%zz@h", "redis://h:" + secret, "http://:" + secret + "@h",
          "redis://:" + secret + "@h:1?x=y", "redis://:" + secret + "@[::1"}) {
        EXPECT_EQ(parse_error(bad).find(secret), std::string::npos) << parse_error(bad);
        EXPECT_EQ(parse_error(bad).find("Hunter"), std::string::npos);
    }
}

}  // namespace
}  // namespace llmgw::redis
