// server.tls { cert_file, key_file, min_version } and backends.<name>.tls { ca_file, verify,
// server_name }; the files they name are read and parsed here, once.
#include "tls_sections.hpp"

namespace llmgw::config {

namespace {
// Runs `read` on the file `key` names; a PemError is reported at that key's line.
template <typename Read>
auto read_pem(const YamlNode& section, std::string_view key, const std::string& path, Read read) {
    try {
        return read(path);
    } catch (const PemError& error) {
        section[key].fail(error.what());
    }
}

std::string required_path(const YamlNode& section, std::string_view key) {
    if (!section.has(key)) section.fail("missing required key \"" + std::string(key) + "\"");
    auto path = section[key].as_string();
    if (path.empty()) section[key].fail("must not be empty");
    return path;
}
}  // namespace

ServerTls parse_server_tls(const YamlNode& node) {
    node.expect_keys({"cert_file", "key_file", "min_version"});
    ServerTls tls;
    tls.cert_file = required_path(node, "cert_file");
    tls.key_file = required_path(node, "key_file");
    if (node.has("min_version")) {
        const auto version = node["min_version"].as_string();
        if (version == "1.2")
            tls.min_version = TlsVersion::v1_2;
        else if (version == "1.3")
            tls.min_version = TlsVersion::v1_3;
        else
            node["min_version"].fail("expected \"1.2\" or \"1.3\", got \"" +
                                     node["min_version"].raw() + "\"");
    }
    tls.chain = read_pem(node, "cert_file", tls.cert_file, read_certificate_chain);
    tls.key = read_pem(node, "key_file", tls.key_file, read_private_key);
    if (!key_matches(tls.chain.front(), tls.key))
        node["key_file"].fail("the key in \"" + tls.key_file +
                              "\" does not match the certificate in \"" + tls.cert_file + "\"");
    return tls;
}

BackendTls parse_backend_tls(const YamlNode& node) {
    node.expect_keys({"ca_file", "verify", "server_name"});
    BackendTls tls;
    if (node.has("ca_file")) tls.ca_file = required_path(node, "ca_file");
    if (node.has("verify")) tls.verify = node["verify"].as_bool();
    if (node.has("server_name")) {
        tls.server_name = node["server_name"].as_string();
        if (tls.server_name.empty()) node["server_name"].fail("must not be empty");
    }
    if (!tls.verify && !tls.ca_file.empty())
        node["ca_file"].fail("has no effect with verify: false");
    if (!tls.ca_file.empty())
        tls.ca_certificates = read_pem(node, "ca_file", tls.ca_file, read_ca_certificates);
    return tls;
}

}  // namespace llmgw::config
