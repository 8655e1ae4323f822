// Consistent hashing of a key to an endpoint (affinity by header or consumer): adding or
// losing an endpoint moves only the keys it owned.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "llmgw/config/config.hpp"

namespace llmgw::upstream {

class HashRing {
public:
    // Points per endpoint and weight unit: enough for an even split of keys.
    static constexpr unsigned points_per_weight = 64;

    explicit HashRing(const std::vector<config::Endpoint>& endpoints);

    // The first endpoint clockwise from `key` for which `usable` holds; npos when none.
    std::size_t owner(std::uint64_t key, const std::function<bool(std::size_t)>& usable) const;

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

private:
    std::vector<std::pair<std::uint64_t, std::size_t>> points_;  // sorted by hash
    std::size_t endpoints_ = 0;
};

}  // namespace llmgw::upstream
