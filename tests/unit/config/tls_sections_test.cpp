// server.tls and backends.<name>.tls: fields, defaults, and files checked at load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "llmgw/config/loader.hpp"
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
