// Tiers, consumers and JWT issuers in the configuration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "llmgw/config/loader.hpp"
#include "load_error.hpp"

using llmgw::config::ConfigError;
using llmgw::config::load_string;
using testing::HasSubstr;

using llmgw::config::testing::load_error;

namespace {

const std::string base = R"(tiers: { free: {}, pro: {} }
backends: { b: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
routes:
  - { name: chat, backend: b }
)";
// sha256("test-key")
const std::string test_key_sha = "62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef";

}  // namespace

TEST(AuthConfig, EnvKeysAreHashedAtLoad) {
    setenv("LLMGW_TEST_CONSUMER_KEY", "test-key", 1);
    const auto config = load_string(base +
                                    "consumers:\n  - { name: beta, tier: free, keys: [ { env: "
                                    "LLMGW_TEST_CONSUMER_KEY } ], routes: [chat] }\n");
    ASSERT_EQ(config.consumers.size(), 1u);
    const auto& digest = config.consumers[0].keys[0].sha256;
    char hex[65];
    for (std::size_t i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EXPECT_EQ(std::string(hex), test_key_sha);
    EXPECT_EQ(config.consumers[0].routes, std::vector<std::string>{"chat"});
}

TEST(AuthConfig, RefusesBadConsumers) {
    EXPECT_THAT(load_error(base + "consumers: [ { name: a, tier: gold, keys: [ { sha256: \"" +
                           test_key_sha + "\" } ] } ]\n"),
                HasSubstr("consumers[0].tier: unknown tier \"gold\""));
    EXPECT_THAT(
        load_error(base +
                   "consumers: [ { name: a, tier: free, keys: [ { sha256: \"abc\" } ] } ]\n"),
        HasSubstr("expected 64 hexadecimal digits"));
    EXPECT_THAT(
        load_error(base + "consumers: [ { name: a, tier: free, keys: [ { key: plaintext } ] } ]\n"),
        HasSubstr("consumers[0].keys[0].key: unknown key"));
    EXPECT_THAT(load_error(base + "consumers: [ { name: a, tier: free, keys: [] } ]\n"),
                HasSubstr("needs at least one key"));
    EXPECT_THAT(load_error(base + "consumers: [ { name: a, tier: free, keys: [ { sha256: \"" +
                           test_key_sha + "\" } ], routes: [nope] } ]\n"),
                HasSubstr("unknown route \"nope\""));
    EXPECT_THAT(
        load_error(base + "consumers:\n  - { name: a, tier: free, keys: [ { sha256: \"" +
                   test_key_sha + "\" } ] }\n  - { name: b, tier: free, keys: [ { sha256: \"" +
                   test_key_sha + "\" } ] }\n"),
        HasSubstr("this key is listed twice"));
    unsetenv("LLMGW_TEST_UNSET_KEY");
    EXPECT_THAT(
        load_error(
            base +
            "consumers: [ { name: a, tier: free, keys: [ { env: LLMGW_TEST_UNSET_KEY } ] } ]\n"),
        HasSubstr("LLMGW_TEST_UNSET_KEY is not set"));
}

TEST(AuthConfig, ReservedConsumerNamesAreRefused) {
    for (const std::string name : {"anonymous", "\"jwt:alice\""})
        EXPECT_THAT(load_error(base + "consumers: [ { name: " + name + ", tier: free, keys: [ { sha256: \"" +
                               test_key_sha + "\" } ] } ]\n"),
                    HasSubstr("reserved"))
            << name;
}

TEST(AuthConfig, RouteTiersMustBeDefined) {
    EXPECT_THAT(load_error(R"(tiers: { free: {} }
backends: { b: { endpoints: [ { url: "http://127.0.0.1:1" } ] } }
routes:
  - { name: chat, backend: b, tiers: [gold] }
)"),
                HasSubstr("t.yaml:4: routes[0].tiers[0]: unknown tier \"gold\""));
}

TEST(AuthConfig, JwtIssuersAreValidated) {
    const auto config = load_string(base + R"(jwt:
  - issuer: "https://auth.example.com/"
    audiences: [llmgw]
    jwks_file: /etc/llmgw/jwks.json
    algorithms: [RS256, ES256]
    default_tier: free
    leeway: 10s
)");
    ASSERT_EQ(config.jwt.size(), 1u);
    EXPECT_EQ(config.jwt[0].consumer_claim, "sub");
    EXPECT_EQ(config.jwt[0].default_tier, "free");
    EXPECT_EQ(config.jwt[0].leeway, std::chrono::seconds(10));

    auto issuer = [&](const std::string& body) {
        return load_error(base + "jwt:\n  - issuer: i\n    audiences: [a]\n" + body);
    };
    EXPECT_THAT(issuer("    jwks_file: f\n    algorithms: [none]\n"),
                HasSubstr("unsupported algorithm \"none\""));
    EXPECT_THAT(issuer("    jwks_file: f\n    algorithms: [HS256]\n"),
                HasSubstr("HS algorithms need `secret`"));
    EXPECT_THAT(
        issuer("    secret: \"0123456789abcdef0123456789abcdef\"\n    algorithms: [RS256]\n"),
        HasSubstr("with `secret` only HS256"));
    EXPECT_THAT(issuer("    secret: short\n    algorithms: [HS256]\n"),
                HasSubstr("at least 32 bytes"));
    EXPECT_THAT(
        issuer("    jwks_file: f\n    jwks_url: \"https://x/jwks\"\n    algorithms: [RS256]\n"),
        HasSubstr("exactly one of jwks_file, jwks_url or secret"));
    EXPECT_THAT(issuer("    jwks_file: f\n    algorithms: [RS256]\n    default_tier: gold\n"),
                HasSubstr("unknown tier"));
}
