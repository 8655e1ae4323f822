// Durations and sizes as the configuration writes them.
#include "llmgw/config/units.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using llmgw::config::parse_duration;
using llmgw::config::parse_size;

TEST(ParseDuration, AcceptsEveryUnit) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("1h"), 1h);
    EXPECT_EQ(parse_duration("1d"), 24h);
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(ParseDuration, RefusesMissingOrUnknownUnitsAndJunk) {
    EXPECT_FALSE(parse_duration("10"));
    EXPECT_FALSE(parse_duration("10sec"));
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("-5s"));
    EXPECT_FALSE(parse_duration("1.5s"));
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("99999999999999999999d"));
}

TEST(ParseSize, AcceptsBytesAndBinaryUnits) {
    EXPECT_EQ(parse_size("1024"), 1024u);
    EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
    EXPECT_EQ(parse_size("8MiB"), 8u * 1024 * 1024);
    EXPECT_EQ(parse_size("1GiB"), 1024u * 1024 * 1024);
    EXPECT_EQ(parse_size("12B"), 12u);
}

TEST(ParseSize, RefusesDecimalUnitsAndJunk) {
    EXPECT_FALSE(parse_size("8MB"));
    EXPECT_FALSE(parse_size("8kib"));
    EXPECT_FALSE(parse_size("MiB"));
    EXPECT_FALSE(parse_size("-1"));
    EXPECT_FALSE(parse_size("99999999999999999999GiB"));
}
