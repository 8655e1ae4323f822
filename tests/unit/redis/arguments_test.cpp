// Arguments: what goes on the wire, and reading it back.
#include "llmgw/redis/arguments.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmgw::redis {
namespace {

TEST(RedisArguments, AreRespBulkStringsInOrder) {
    Arguments args;
    args.add("EVALSHA");
    args.add(std::uint64_t{18446744073709551615ULL});
    args.add("");
    args.add_joined({"rl:{", "acme", "}:", "pro"});
    EXPECT_EQ(args.count(), 4u);
    EXPECT_EQ(args.wire(),
              "$7\r\nEVALSHA\r\n$20\r\n18446744073709551615\r\n$0\r\n\r\n$13\r\nrl:{acme}:pro\r\n");
}

TEST(RedisArguments, ReadBackAsAdded) {
    Arguments keys, more;
    keys.add("a\r\nb");  // a binary-safe argument: its length says where it ends
    more.add(std::uint64_t{0});
    more.add_joined({"x", "", "y"});
    keys.append(more);
    std::vector<std::string> seen;
    keys.for_each([&](std::string_view arg) { seen.emplace_back(arg); });
    EXPECT_EQ(seen, (std::vector<std::string>{"a\r\nb", "0", "xy"}));
    keys.clear();
    EXPECT_TRUE(keys.empty());
    EXPECT_EQ(keys.wire(), "");
}

}  // namespace
}  // namespace llmgw::redis
