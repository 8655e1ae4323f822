// Client options from the `redis` config section.
#include "llmgw/limits/redis_options.hpp"

#include <algorithm>
#include <cstddef>

namespace llmgw::limits {

namespace {
// The cache's Redis store keeps an answer as one string: a JSON line of its status and
// headers, then its body (at most cache.max_entry_bytes). The headers come from the upstream's
// parser, bounded at 8 KiB; escaped as JSON they stay well within this room.
constexpr std::size_t kCachedAnswerHeadRoom = 256 * 1024;
}  // namespace

redis::Client::Options redis_client_options(const config::RedisConfig& config,
                                            const config::CacheConfig& cache) {
    redis::Client::Options options;
    options.host = config.host;
    options.port = config.port;
    options.username = config.username;
    options.password = config.password;
    options.db = config.db;
    options.timeout = config.timeout;
    // Limits must hold again soon after Redis comes back: retry connecting at least twice a second.
    options.reconnect_max = std::chrono::milliseconds(500);
    options.max_reply_bytes = std::max<std::size_t>(options.max_reply_bytes,
                                                    cache.max_entry_bytes + kCachedAnswerHeadRoom);
    if (config.cluster) {  // url and nodes are seeds: any node of the cluster tells its map
        options.cluster = true;
        for (const auto& node : config.nodes)
            options.cluster_seeds.push_back({node.host, node.port, {}, {}});
    }
    if (config.sentinel) {  // url and nodes are the sentinels; url's password is the master's
        options.sentinel_master = config.sentinel->master;
        options.sentinels.push_back({config.host, config.port, {}, {}});
        for (const auto& node : config.nodes)
            options.sentinels.push_back({node.host, node.port, node.username, node.password});
    }
    return options;
}

}  // namespace llmgw::limits
