// Cache lookups with coalescing, and stores, over the in-process or the Redis store.
#include "llmgw/cache/response_cache.hpp"

#include "llmgw/cache/redis_store.hpp"
#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::cache {

namespace {
// Whether a Cache-Control value holds `directive` (lower case), with or without "=value".
bool has_directive(std::string_view header, std::string_view directive) {
    for (const auto& token : http::list_tokens(header)) {
        auto name = std::string_view(token).substr(0, token.find('='));
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (name == directive) return true;
    }
    return false;
}
}  // namespace

std::optional<Bypass> bypass(std::string_view method, std::string_view cache_control) {
    if (method != "GET" && method != "POST") return Bypass{false};
    if (has_directive(cache_control, "no-store")) return Bypass{false};
    if (has_directive(cache_control, "no-cache")) return Bypass{true};
    return std::nullopt;
}

bool storable(int status, std::string_view upstream_cache_control) {
    return status == 200 && !has_directive(upstream_cache_control, "no-store") &&
           !has_directive(upstream_cache_control, "private");
}

ResponseCache::ResponseCache(SharedCache& shared, redis::Client* redis) : shared_(shared) {
    if (redis != nullptr && shared.config.store == config::CacheConfig::Store::redis)
        redis_ = std::make_unique<RedisStore>(*redis);
}

ResponseCache::~ResponseCache() = default;

redis::Task<std::shared_ptr<const CachedAnswer>> ResponseCache::look(const std::string& key) {
    if (!redis_) co_return shared_.memory.find(key, Clock::now());
    bool failed = false;
    auto answer = co_await redis_->find(key, failed);
    if (failed) shared_.metrics.store_error();
    co_return answer;
}

redis::Task<ResponseCache::Found> ResponseCache::find(std::string key) {
    Found found;
    found.answer = co_await look(key);
    if (found.answer) co_return found;
    auto joined = shared_.coalescer.join(key);
    if (!joined.follow) {
        found.lead = std::move(joined.lead);
        co_return found;
    }
    // Someone asks the same right now: wait for its answer rather than asking the model again.
    found.coalesced = true;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        shared_.config.coalesce_wait);
    co_await Coalescer::wait(std::move(joined.follow), wait);
    found.answer = co_await look(key);
    co_return found;  // a miss now goes upstream alone (the leader failed or timed out)
}

redis::Task<void> ResponseCache::store(std::string key,
                                       std::shared_ptr<const CachedAnswer> answer) {
    const auto route = answer->route;
    bool stored = false;
    if (redis_) {
        stored = co_await redis_->insert(key, std::move(answer));
        if (!stored) shared_.metrics.store_error();
    } else {
        stored = shared_.memory.insert(key, std::move(answer));
    }
    if (stored) shared_.metrics.stored(route);
}

}  // namespace llmgw::cache
