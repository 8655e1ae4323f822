// The tables of the response cache: the top-level cache section and routes[].cache.
#include "sections.hpp"

namespace llmgw::config::schema {

namespace {

void check_cache(const YamlNode& node, CacheConfig& cache, const Config& config) {
    if (cache.max_entry_bytes > cache.max_bytes)
        node[node.has("max_entry_bytes") ? "max_entry_bytes" : "max_bytes"].fail(
            "max_entry_bytes must not be larger than max_bytes");
    if (cache.store == CacheConfig::Store::redis && !config.redis)
        node["store"].fail("the redis store needs the top-level redis section");
}

}  // namespace

const Section<RouteCache>& route_cache_section() {
    using S = RouteCache;
    static const Names<S::Scope> scopes{
        {{"global", S::Scope::global}, {"consumer", S::Scope::consumer}}};
    static const Section<S> section{
        {duration("ttl", &S::ttl, at_least(std::chrono::seconds(1))).required(),
         choice("scope", &S::scope, scopes)}};
    return section;
}

const Section<CacheConfig>& cache_section() {
    using S = CacheConfig;
    static const Names<S::Store> stores{{{"memory", S::Store::memory}, {"redis", S::Store::redis}}};
    static const Section<S> section{
        {size("max_bytes", &S::max_bytes),
         size("max_entry_bytes", &S::max_entry_bytes,
              [](const std::uint64_t& size) { return size == 0 ? "must be more than 0" : ""; }),
         choice("store", &S::store, stores), duration("coalesce_wait", &S::coalesce_wait)},
        check_cache};
    return section;
}

}  // namespace llmgw::config::schema
