// What a request reserves from its token and money limits at admission, and the arithmetic that
// settles it once the real usage is known (a refund, or an extra debit).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "llmgw/config/config.hpp"

namespace llmgw::limits {

// An amount of each metered unit: LLM tokens and money (nano-units of `prices`).
struct Charge {
    std::uint64_t tokens = 0;
    std::uint64_t cost = 0;
    bool empty() const { return tokens == 0 && cost == 0; }
    bool operator==(const Charge&) const = default;
};

// What `charge` holds in `limit`'s unit (request limits are not metered by charges).
inline std::uint64_t amount_in(const config::Limit& limit, const Charge& charge) {
    switch (limit.unit) {
        case config::Limit::Unit::tokens: return charge.tokens;
        case config::Limit::Unit::cost: return charge.cost;
        default: return 0;
    }
}

// What a limit needs free to admit a reservation of `reserved`: the reservation, but never
// more than the limit holds at all (a request larger than the whole limit admits once the
// limit is untouched, and its overshoot is then one answer, as without reservations).
inline double needed(double reserved, double capacity) { return std::min(reserved, capacity); }

// The change a settle makes to what a limit has used: actual minus reserved (negative: refund).
inline double settle_delta(std::uint64_t reserved, std::uint64_t actual) {
    return static_cast<double>(actual) - static_cast<double>(reserved);
}

// A bucket after settling: refunds never lift it above its capacity.
inline double settled_level(double level, double capacity, std::uint64_t reserved,
                            std::uint64_t actual) {
    return std::min(capacity, level - settle_delta(reserved, actual));
}

// A quota's count after settling. A reservation made in an earlier window is not refunded
// into the current one (that window never saw it); only an extra debit lands there.
inline std::uint64_t settled_used(std::uint64_t used, std::uint64_t reserved, std::uint64_t actual,
                                  bool same_window) {
    if (!same_window) reserved = std::min(reserved, actual);
    if (actual >= reserved) {
        const auto extra = actual - reserved;
        return used > UINT64_MAX - extra ? UINT64_MAX : used + extra;
    }
    const auto refund = reserved - actual;
    return used > refund ? used - refund : 0;
}

// A request's reservation, kept until it is settled.
struct Reservation {
    Charge reserved;
    std::chrono::system_clock::time_point at{};  // when it was taken (its quota windows)
    bool in_redis = false;  // taken in Redis: the in-process limiter only learns the usage
};

}  // namespace llmgw::limits
