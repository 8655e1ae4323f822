// Parses the config's `redis.url` (redis[s]://[user:password@]host[:port][/db]) into its parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::redis {

struct RedisUrl {
    std::string host;  // a name or an address; IPv6 literals are written [::1] in the URL
    uint16_t port = 6379;
    std::string username;  // empty: AUTH with the password only (the "default" user)
    std::string password;  // empty: no AUTH
    int db = 0;
    bool tls = false;  // rediss://
};

// Accepts redis://host (rediss:// alike, for TLS), redis://host:port, redis://:password@host:port/db and
// redis://user:password@host:port/db; user and password may be %-encoded. On failure
// returns nullopt and sets `error` to a message that never quotes the URL (which may hold
// the password), e.g. "port must be a number from 1 to 65535".
std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error);

}  // namespace llmgw::redis
