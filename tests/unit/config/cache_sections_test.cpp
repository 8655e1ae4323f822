// The cache's settings: routes[].cache and the top-level cache section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::CacheConfig;
using llmgw::config::load_string;
using llmgw::config::RouteCache;
using llmgw::config::testing::load_error;
using testing::HasSubstr;

namespace {

std::string with_route_cache(const std::string& cache, const std::string& extra = "") {
    return "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
           "routes:\n"
           "  - name: r\n"
           "    backend: b\n"
           "    cache: " +
           cache + "\n" + extra;
}

TEST(CacheSections, RouteCacheAndDefaults) {
    const auto config = load_string(with_route_cache("{ ttl: 10m, scope: consumer }"));
    ASSERT_TRUE(config.routes[0].cache.has_value());
    EXPECT_EQ(config.routes[0].cache->ttl, 10min);
    EXPECT_EQ(config.routes[0].cache->scope, RouteCache::Scope::consumer);
    EXPECT_EQ(config.cache.max_bytes, 256u << 20);
    EXPECT_EQ(config.cache.max_entry_bytes, 1u << 20);
    EXPECT_EQ(config.cache.store, CacheConfig::Store::memory);
    EXPECT_EQ(load_string(with_route_cache("{ ttl: 5s }")).routes[0].cache->scope,
              RouteCache::Scope::global);
}

TEST(CacheSections, CacheSection) {
    const auto config = load_string(with_route_cache(
        "{ ttl: 1m }", "cache: { max_bytes: 64MiB, max_entry_bytes: 64KiB, coalesce_wait: 5s }\n"));
    EXPECT_EQ(config.cache.max_bytes, 64u << 20);
    EXPECT_EQ(config.cache.max_entry_bytes, 64u << 10);
    EXPECT_EQ(config.cache.coalesce_wait, 5s);
}

TEST(CacheSections, MistakesNameTheKeyAndLine) {
    EXPECT_THAT(load_error(with_route_cache("{ scope: global }")),
                HasSubstr("t.yaml:5: routes[0].cache: missing required key \"ttl\""));
    EXPECT_THAT(load_error(with_route_cache("{ ttl: 0s }")), HasSubstr("ttl: must be at least 1s"));
    EXPECT_THAT(load_error(with_route_cache("{ ttl: 1m, scope: team }")),
                HasSubstr("expected global or consumer, got \"team\""));
    EXPECT_THAT(load_error(with_route_cache("{ ttl: 1m, size: 3 }")), HasSubstr("size"));
    EXPECT_THAT(load_error(with_route_cache("{ ttl: 1m }", "cache: { store: redis }\n")),
                HasSubstr("the redis store needs the top-level redis section"));
    EXPECT_THAT(load_error(with_route_cache("{ ttl: 1m }", "cache: { store: disk }\n")),
                HasSubstr("expected memory or redis"));
    EXPECT_THAT(
        load_error(with_route_cache("{ ttl: 1m }", "cache: { max_bytes: 1KiB, max_entry_bytes: 2KiB }\n")),
        HasSubstr("max_entry_bytes must not be larger than max_bytes"));
}

TEST(CacheSections, RedisStoreWithRedis) {
    const auto config = load_string(with_route_cache(
        "{ ttl: 1m }", "redis: { url: \"redis://127.0.0.1:6379\" }\ncache: { store: redis }\n"));
    EXPECT_EQ(config.cache.store, CacheConfig::Store::redis);
}

}  // namespace
