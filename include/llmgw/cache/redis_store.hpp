// The Redis store of the response cache: entries shared by every llmgw instance, under
// llmgw:cache:<route>:<digest>, expiring with their TTL. Any Redis trouble is a miss.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "llmgw/cache/cached_answer.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::cache {

class RedisStore {
public:
    explicit RedisStore(redis::Client& client, std::string prefix = "llmgw:cache:");

    // The fresh entry, or null (absent, expired, unreadable, or Redis failed: `failed` says).
    redis::Task<std::shared_ptr<const CachedAnswer>> find(std::string key, bool& failed);
    // True when Redis stored it.
    redis::Task<bool> insert(std::string key, std::shared_ptr<const CachedAnswer> entry);
    // Deletes every entry, or one route's; nullopt when Redis failed part way.
    redis::Task<std::optional<std::size_t>> purge(std::optional<std::string> route);

private:
    redis::Task<std::optional<std::size_t>> purge_on(std::size_t master, std::string pattern);
    redis::Task<std::optional<std::size_t>> unlink(const std::vector<redis::Reply>& keys);

    redis::Client& client_;
    std::string prefix_;
};

}  // namespace llmgw::cache
