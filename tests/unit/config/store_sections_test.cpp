// The store and self_service sections: URLs of both engines, defaults, and what is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgw/config/config_json.hpp"
#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using namespace std::chrono_literals;
using llmgw::config::load_string;
using llmgw::config::StoreConfig;
using llmgw::config::testing::load_error;
using testing::HasSubstr;
using testing::Not;

namespace {

const std::string base =
    "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
    "routes: [ { name: r, backend: b } ]\n";

TEST(StoreSections, SqliteUrlAndDefaults) {
    const auto config = load_string(base + "store: { url: \"sqlite:///var/lib/llmgw/x.db\" }\n");
    ASSERT_TRUE(config.store.has_value());
    EXPECT_EQ(config.store->engine, StoreConfig::Engine::sqlite);
    EXPECT_EQ(config.store->path, "/var/lib/llmgw/x.db");
    EXPECT_EQ(config.store->flush_interval, 5s);
    EXPECT_EQ(config.store->sync_interval, 30s);
    EXPECT_FALSE(config.self_service.enabled);
    EXPECT_EQ(config.self_service.max_keys_per_consumer, 5u);
    EXPECT_FALSE(load_string(base).store.has_value());
}

TEST(StoreSections, APostgresPasswordIsNeverShown) {
    const auto config = load_string(
        base + "store: { url: \"postgres://llmgw:s3cret-pw@db:5432/llmgw\", flush_interval: 1s }\n");
    EXPECT_EQ(config.store->engine, StoreConfig::Engine::postgres);
    EXPECT_EQ(config.store->url, "postgres://llmgw:s3cret-pw@db:5432/llmgw");
    EXPECT_EQ(config.store->flush_interval, 1s);
    const auto shown = llmgw::config::to_redacted_json(config).dump();
    EXPECT_THAT(shown, Not(HasSubstr("s3cret-pw")));
    EXPECT_THAT(shown, HasSubstr("postgres://llmgw:***@db:5432/llmgw"));
}

TEST(StoreSections, RefusesOtherUrlsAndSelfServiceWithoutAStore) {
    EXPECT_THAT(load_error(base + "store: { url: \"mysql://x\" }\n"), HasSubstr("store.url"));
    EXPECT_THAT(load_error(base + "store: { url: \"sqlite://\" }\n"), HasSubstr("file path"));
    EXPECT_THAT(load_error(base + "store: { flush_interval: 1s }\n"), HasSubstr("url"));
    EXPECT_THAT(load_error(base + "self_service: { enabled: true }\n"), HasSubstr("needs a store"));
    EXPECT_THAT(load_error(base + "store: { url: \"sqlite:///x.db\" }\n"
                                  "self_service: { enabled: true, max_keys_per_consumer: 0 }\n"),
                HasSubstr("max_keys_per_consumer"));
}

}  // namespace
