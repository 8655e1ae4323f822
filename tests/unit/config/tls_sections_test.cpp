// server.tls and backends.<name>.tls: fields, defaults, and files checked at load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmgw/config/loader.hpp"
#include "llmgw/limits/redis_options.hpp"
#include "load_error.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace {

using llmgw::config::load_string;
using llmgw::config::TlsVersion;
using llmgw::config::testing::load_error;
using testing::HasSubstr;

const std::string routes = "routes: [ { name: r, backend: b } ]\n";

std::string backend(const std::string& url, const std::string& extra = "") {
    return "backends:\n  b:\n    endpoints: [ { url: \"" + url + "\" } ]\n" + extra + routes;
}

class TlsSections : public ::testing::Test {
protected:
    TlsSections() : pki(llmgw::testing::make_test_pki(dir)) {}
    std::string server_tls(const std::string& extra = "") const {
        return "server:\n  tls:\n    cert_file: \"" + pki.server_cert + "\"\n    key_file: \"" +
               pki.server_key + "\"\n" + extra;
    }
    llmgw::testing::TempDir dir;
    llmgw::testing::TestPki pki;
};

TEST_F(TlsSections, ServerTlsDefaultsToTls12AndAcceptsMinVersion13) {
    const auto config = load_string(server_tls() + backend("http://x:1"));
    ASSERT_TRUE(config.server.tls);
    EXPECT_EQ(config.server.tls->cert_file, pki.server_cert);
    EXPECT_EQ(config.server.tls->min_version, TlsVersion::v1_2);
    const auto strict =
        load_string(server_tls("    min_version: \"1.3\"\n") + backend("http://x:1"));
    EXPECT_EQ(strict.server.tls->min_version, TlsVersion::v1_3);
    EXPECT_THAT(load_error(server_tls("    min_version: \"1.1\"\n") + backend("http://x:1")),
                HasSubstr("t.yaml:5: server.tls.min_version: expected \"1.2\" or \"1.3\""));
    EXPECT_FALSE(load_string(backend("http://x:1")).server.tls);
}

TEST_F(TlsSections, ServerTlsNeedsBothFilesAndNoOtherKeys) {
    EXPECT_THAT(load_error("server:\n  tls: { cert_file: \"" + pki.server_cert + "\" }\n" +
                           backend("http://x:1")),
                HasSubstr("t.yaml:2: server.tls: missing required key \"key_file\""));
    EXPECT_THAT(load_error(server_tls("    ciphers: ALL\n") + backend("http://x:1")),
                HasSubstr("server.tls.ciphers: unknown key"));
}

TEST_F(TlsSections, HttpsEndpointsDefaultToPort443AndVerification) {
    const auto config = load_string(backend("https://models.example"));
    const auto& b = config.backends.at(0);
    EXPECT_TRUE(b.endpoints.at(0).tls);
    EXPECT_EQ(b.endpoints.at(0).port, 443);
    EXPECT_EQ(b.endpoints.at(0).host, "models.example");
    EXPECT_TRUE(b.tls.verify);
    EXPECT_TRUE(b.tls.ca_file.empty());
    EXPECT_FALSE(load_string(backend("http://models.example")).backends.at(0).endpoints.at(0).tls);
}

TEST_F(TlsSections, BackendTlsFields) {
    const auto config =
        load_string(backend("https://10.0.0.1:8443", "    tls: { ca_file: \"" + pki.ca_cert +
                                                         "\", server_name: models.internal }\n"));
    const auto& tls = config.backends.at(0).tls;
    EXPECT_EQ(tls.ca_file, pki.ca_cert);
    EXPECT_EQ(tls.server_name, "models.internal");
    EXPECT_TRUE(tls.verify);
    EXPECT_FALSE(load_string(backend("https://x:1", "    tls: { verify: false }\n"))
                     .backends.at(0)
                     .tls.verify);
}

TEST_F(TlsSections, BackendTlsMistakesAreNamed) {
    EXPECT_THAT(load_error(backend("http://x:1", "    tls: { verify: false }\n")),
                HasSubstr("t.yaml:4: backends.b.tls: applies to https:// endpoints"));
    EXPECT_THAT(load_error(backend("https://x:1", "    tls: { verify: false, ca_file: \"" +
                                                      pki.ca_cert + "\" }\n")),
                HasSubstr("backends.b.tls.ca_file: has no effect with verify: false"));
    EXPECT_THAT(load_error(backend("https://x:1", "    tls: { ca_file: /nonexistent/ca.pem }\n")),
                HasSubstr("t.yaml:4: backends.b.tls.ca_file: cannot read \"/nonexistent/ca.pem\""));
    EXPECT_THAT(load_error(backend("https://x:1", "    tls: { verify: yes }\n")),
                HasSubstr("backends.b.tls.verify: expected true or false"));
}

TEST_F(TlsSections, ServerTlsFilesAreCheckedAtLoad) {
    EXPECT_THAT(
        load_error("server:\n  tls:\n    cert_file: \"" + pki.server_cert + "\"\n    key_file: \"" +
                   pki.unrelated_key + "\"\n" + backend("http://x:1")),
        HasSubstr("t.yaml:4: server.tls.key_file: the key in"));
    EXPECT_THAT(load_error("server:\n  tls:\n    cert_file: \"" + pki.server_cert +
                           "\"\n    key_file: /nonexistent/k.pem\n" + backend("http://x:1")),
                HasSubstr("t.yaml:4: server.tls.key_file: cannot read \"/nonexistent/k.pem\""));
}

}  // namespace

namespace {

std::string with_redis(const std::string& redis) {
    return backend("http://x:1") + "redis:\n" + redis;
}

}  // namespace

TEST_F(TlsSections, RedissTurnsTlsOnWithTheSystemsCasWhenTheSectionIsAbsent) {
    const auto config = load_string(with_redis("  url: \"rediss://:pw@redis.internal:6380/1\"\n"));
    ASSERT_TRUE(config.redis);
    EXPECT_TRUE(config.redis->secure);
    ASSERT_TRUE(config.redis->tls);
    EXPECT_TRUE(config.redis->tls->verify);
    EXPECT_TRUE(config.redis->tls->ca_file.empty());
    EXPECT_FALSE(load_string(with_redis("  url: \"redis://h:1\"\n")).redis->tls);
}

TEST_F(TlsSections, RedisTlsReadsTheCaAndTheClientCertificateAtLoad) {
    const auto config = load_string(with_redis(
        "  url: \"rediss://h:1\"\n  tls:\n    ca_file: \"" + pki.ca_cert +
        "\"\n    server_name: redis.internal\n    cert_file: \"" + pki.client_cert +
        "\"\n    key_file: \"" + pki.client_key + "\"\n"));
    const auto& tls = *config.redis->tls;
    EXPECT_EQ(tls.server_name, "redis.internal");
    EXPECT_EQ(tls.ca_certificates.size(), 1u);
    EXPECT_EQ(tls.chain.size(), 1u);
    EXPECT_TRUE(tls.key);
}

TEST_F(TlsSections, RedisTlsMistakesFailAtLoadNamingTheKey) {
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  tls: { verify: false }\n")),
                HasSubstr("redis.tls: needs a rediss:// url"));
    EXPECT_THAT(load_error(with_redis("  url: \"rediss://h:1\"\n  tls:\n    ca_file: \"" +
                                      dir.file("missing.pem") + "\"\n")),
                HasSubstr("t.yaml:8: redis.tls.ca_file:"));
    EXPECT_THAT(load_error(with_redis("  url: \"rediss://h:1\"\n  tls:\n    cert_file: \"" +
                                      pki.client_cert + "\"\n")),
                HasSubstr("redis.tls: cert_file needs key_file"));
    EXPECT_THAT(load_error(with_redis("  url: \"rediss://h:1\"\n  tls:\n    cert_file: \"" +
                                      pki.client_cert + "\"\n    key_file: \"" +
                                      pki.unrelated_key + "\"\n")),
                HasSubstr("redis.tls.key_file: the key in"));
}

TEST_F(TlsSections, RedisSentinelTakesItsSentinelsFromUrlAndNodes) {
    const auto config = load_string(with_redis(
        "  url: \"redis://:pw@10.0.0.1:26379/2\"\n  sentinel: { master: mymaster }\n"
        "  nodes: [\"redis://:sentinelpw@10.0.0.2:26379\", \"redis://10.0.0.3\"]\n"));
    ASSERT_TRUE(config.redis->sentinel);
    EXPECT_EQ(config.redis->sentinel->master, "mymaster");
    ASSERT_EQ(config.redis->nodes.size(), 2u);
    EXPECT_EQ(config.redis->nodes[0].password, "sentinelpw");
    EXPECT_EQ(config.redis->nodes[1].port, 6379);
}

TEST_F(TlsSections, RedisClusterTakesItsSeedsFromUrlAndNodes) {
    const auto config = load_string(with_redis(
        "  url: \"redis://:pw@10.0.0.1:7000\"\n  cluster: true\n"
        "  nodes: [\"redis://10.0.0.2:7001\", \"redis://10.0.0.3\"]\n"));
    EXPECT_TRUE(config.redis->cluster);
    ASSERT_EQ(config.redis->nodes.size(), 2u);
    EXPECT_EQ(config.redis->nodes[1].port, 6379);
    const auto options = llmgw::limits::redis_client_options(*config.redis, config.cache);
    EXPECT_TRUE(options.cluster);
    EXPECT_EQ(options.password, "pw");
    ASSERT_EQ(options.cluster_seeds.size(), 2u);
    EXPECT_EQ(options.cluster_seeds[0].host, "10.0.0.2");
    EXPECT_EQ(options.cluster_seeds[0].port, 7001);
}

TEST_F(TlsSections, RedisTopologyMistakesFailAtLoad) {
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  nodes: [\"redis://h:2\"]\n")),
                HasSubstr("redis.nodes: needs cluster (the nodes are seeds) or sentinel"));
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  sentinel: { master: m }\n"
                                      "  nodes: [\"rediss://h:2\"]\n")),
                HasSubstr("redis.nodes: nodes[0] must use the url's scheme (redis://)"));
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  sentinel: { master: \"\" }\n")),
                HasSubstr("redis.sentinel.master: must not be empty"));
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  cluster: true\n"
                                      "  sentinel: { master: m }\n")),
                HasSubstr("redis.cluster: cannot be used with sentinel"));
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1/2\"\n  cluster: true\n")),
                HasSubstr("Redis Cluster has only database 0"));
    EXPECT_THAT(load_error(with_redis("  url: \"redis://h:1\"\n  sentinel: { master: m }\n"
                                      "  nodes: [\"redis://:p@h:2/3\"]\n")),
                HasSubstr("names no database"));
}
