// server.tls { cert_file, key_file, min_version } and backends.<name>.tls { ca_file, verify,
// server_name }, each checked by building the OpenSSL context it describes.
#include "tls_sections.hpp"

#include "llmgw/tls/client_context.hpp"
#include "llmgw/tls/server_context.hpp"

namespace llmgw::config {

namespace {
// Reports a TlsFileError at the line of the key it names.
[[noreturn]] void fail_at_key(const YamlNode& section, const tls::TlsFileError& error) {
    for (const auto* field : {"cert_file", "key_file", "ca_file"})
        if (error.key().ends_with(std::string(".") + field) && section.has(field))
            section[field].fail(error.detail());
    section.fail(error.detail());
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
    try {
        tls::make_server_context(tls);
    } catch (const tls::TlsFileError& error) {
        fail_at_key(node, error);
    }
    return tls;
}

BackendTls parse_backend_tls(const std::string& backend, const YamlNode& node) {
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
    check_backend_tls(backend, tls, node);
    return tls;
}

void check_backend_tls(const std::string& backend, const BackendTls& tls, const YamlNode& node) {
    try {
        tls::ClientContext check(backend, tls);
    } catch (const tls::TlsFileError& error) {
        fail_at_key(node, error);
    }
}

}  // namespace llmgw::config
