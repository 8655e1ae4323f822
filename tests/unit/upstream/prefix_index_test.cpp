// The prefix index finds, per endpoint, the longest run of a prompt's leading blocks.
#include "llmgw/upstream/prefix_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llmgw/upstream/routing_hints.hpp"

using llmgw::upstream::prefix_blocks;
using llmgw::upstream::PrefixIndex;

TEST(PrefixIndex, LongestLeadingRunPerEndpoint) {
    const std::string system(64, 's');
    const auto turn1 = prefix_blocks(system + std::string(32, 'a'), 16);
    const auto turn2 = prefix_blocks(system + std::string(32, 'a') + std::string(32, 'b'), 16);
    const auto other = prefix_blocks(system + std::string(32, 'z'), 16);
    PrefixIndex index(2);
    index.record(0, turn1);  // the conversation went to 0
    index.record(1, other);  // another one, same system prompt, went to 1
    std::vector<std::size_t> counts;
    index.match(turn2, counts);
    EXPECT_EQ(counts,
              (std::vector<std::size_t>{6, 4}));  // 0 holds its history, 1 the system prompt
}

TEST(PrefixIndex, AMissingBlockEndsTheRun) {
    PrefixIndex index(1);
    const std::vector<std::uint64_t> blocks{1, 2, 3, 4};
    index.record(0, std::vector<std::uint64_t>{1, 2, 4});
    std::vector<std::size_t> counts;
    index.match(blocks, counts);
    EXPECT_EQ(counts[0], 2u);
}

TEST(PrefixIndex, EvictsLeastRecentBlocksAndTailsBeforeHeads) {
    PrefixIndex index(1, 4);
    index.record(0, std::vector<std::uint64_t>{1, 2, 3});
    index.record(0, std::vector<std::uint64_t>{10, 11, 12});  // 4 blocks kept: 3 goes, then 2
    std::vector<std::size_t> counts;
    index.match(std::vector<std::uint64_t>{1, 2, 3}, counts);
    EXPECT_EQ(counts[0], 1u);  // the head of the older prefix outlived its tail
    index.match(std::vector<std::uint64_t>{10, 11, 12}, counts);
    EXPECT_EQ(counts[0], 3u);
}

TEST(PrefixBlocks, ChainedSoABlockNamesItsWholePrefix) {
    const auto a = prefix_blocks("0123456789abcdefXXXXXXXXXXXXXXXX", 16);
    const auto b = prefix_blocks("0123456789abcdeYXXXXXXXXXXXXXXXX", 16);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_NE(a[0], b[0]);
    EXPECT_NE(a[1], b[1]);                             // same second block, different history
    EXPECT_EQ(prefix_blocks("short", 16).size(), 0u);  // only full blocks
}
