// Cache lookups with coalescing, and stores, over the in-process or the Redis store.
#include "llmgw/cache/response_cache.hpp"

#include <cctype>

#include "llmgw/cache/redis_store.hpp"

namespace llmgw::cache {

namespace {
bool has_directive(std::string_view header, std::string_view directive) {
    // Directives are comma-separated tokens, case-insensitive, maybe with "=value".
    while (!header.empty()) {
        const auto comma = header.find(',');
        auto token = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        token = token.substr(0, token.find('='));
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (token.size() != directive.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < token.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(token[i])) == directive[i];
        if (same) return true;
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
