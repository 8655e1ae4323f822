// Usage records (per consumer and UTC day) kept in Redis, so every instance adds to one ledger
// and GET /admin/usage sees all of them. Hashes llmgw:usage:{consumer}:YYYY-MM-DD, kept 400 days.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmgw/limits/usage_ledger.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

class RedisUsage {
public:
    explicit RedisUsage(redis::Client& client, std::string prefix = "llmgw:");

    // One round trip (a script adding to the day's hash); false when Redis failed.
    redis::Task<bool> record(std::string consumer, std::string day, std::uint64_t prompt_tokens,
                             std::uint64_t completion_tokens, bool estimated, bool cached);
    // The days from `from` to `to` (inclusive) with usage; nullopt when Redis failed.
    redis::Task<std::optional<std::vector<DayUsage>>> query(std::string consumer, std::string from,
                                                            std::string to);

private:
    std::string key(const std::string& consumer, const std::string& day) const;

    redis::Client& client_;
    std::string prefix_;
};

// The days from `from` to `to` (YYYY-MM-DD, inclusive), at most `limit` of them.
// The hash holding `consumer`'s usage on `day`: {prefix}usage:{<consumer>}:<day>.
std::string usage_key(const std::string& prefix, const std::string& consumer, const std::string& day);
// How long a day's hash is kept after its last write.
inline constexpr long long usage_ttl_seconds = 400LL * 86400;

std::vector<std::string> days_between(const std::string& from, const std::string& to,
                                      std::size_t limit = 366);

}  // namespace llmgw::limits
