// Step 5 of the pipeline, one per worker: looks a request's answer up (waiting for an
// identical request in flight when there is one) and stores answers that may be replayed.
// The in-process store, the coalescer and the metrics are shared by all workers (SharedCache).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llmgw/cache/cache_metrics.hpp"
#include "llmgw/cache/cached_answer.hpp"
#include "llmgw/cache/coalescer.hpp"
#include "llmgw/cache/memory_store.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/redis/client.hpp"

namespace prometheus {
class Registry;
}

namespace llmgw::cache {

class RedisStore;

// What every worker's cache shares.
struct SharedCache {
    SharedCache(const config::CacheConfig& config, prometheus::Registry& registry)
        : config(config), memory(config.max_bytes, config.max_entry_bytes), metrics(registry) {}

    config::CacheConfig config;
    MemoryStore memory;
    Coalescer coalescer;
    CacheMetrics metrics;
};

// Why a request on a cached route does not use the cache, or nullopt when it does.
// Only GET and POST are cached; Cache-Control: no-cache (answer afresh, store the new answer)
// and no-store (neither read nor write) are honoured.
struct Bypass {
    bool store_answer = false;  // no-cache: the fresh answer replaces the stored one
};
std::optional<Bypass> bypass(std::string_view method, std::string_view cache_control);

// Whether an upstream answer may be stored: a 200 the upstream did not mark no-store/private.
bool storable(int status, std::string_view upstream_cache_control);

class ResponseCache {
public:
    // `redis` is this worker's Redis connection when cache.store is redis.
    ResponseCache(SharedCache& shared, redis::Client* redis);
    ~ResponseCache();

    struct Found {
        std::shared_ptr<const CachedAnswer> answer;  // set on a hit
        Coalescer::Lead lead;  // set when this request must answer for the identical ones
        bool coalesced = false;  // this request waited for another
    };
    // A hit, or a miss that leads (or, after a wait that found nothing, goes alone).
    redis::Task<Found> find(std::string key);
    // Stores `answer` under `key` (in Redis: waits for it, so followers find it).
    redis::Task<void> store(std::string key, std::shared_ptr<const CachedAnswer> answer);
    redis::Task<std::shared_ptr<const CachedAnswer>> look(const std::string& key);

    CacheMetrics& metrics() { return shared_.metrics; }
    const config::CacheConfig& config() const { return shared_.config; }

private:
    SharedCache& shared_;
    std::unique_ptr<RedisStore> redis_;
};

}  // namespace llmgw::cache
