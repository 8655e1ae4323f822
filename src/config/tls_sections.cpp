// The tables of server.tls { cert_file, key_file, min_version }, backends.<name>.tls
// { ca_file, verify, server_name } and redis.tls (those, and a client certificate). The files
// they name are read and parsed here, once, so a bad certificate fails at start (and in
// --check) naming its key and line.
#include "sections.hpp"

namespace llmgw::config::schema {

namespace {

// Runs `read` on the file the key names; a PemError is reported at that key's line.
template <typename Read>
auto read_pem(const YamlNode& node, const std::string& path, Read read) {
    try {
        return read(path);
    } catch (const PemError& error) {
        node.fail(error.what());
    }
}

Rule<std::string> not_empty() {
    return [](const std::string& value) { return value.empty() ? "must not be empty" : ""; };
}

// The certificate and key must be read and belong together; checked once both are known.
void check_server_tls(const YamlNode& node, ServerTls& tls, const Config&) {
    tls.chain = read_pem(node["cert_file"], tls.cert_file, read_certificate_chain);
    tls.key = read_pem(node["key_file"], tls.key_file, read_private_key);
    if (!key_matches(tls.chain.front(), tls.key))
        node["key_file"].fail("the key in \"" + tls.key_file +
                              "\" does not match the certificate in \"" + tls.cert_file + "\"");
}

void check_backend_tls(const YamlNode& node, BackendTls& tls, const Config&) {
    if (!tls.verify && !tls.ca_file.empty())
        node["ca_file"].fail("has no effect with verify: false");
    if (!tls.ca_file.empty())
        tls.ca_certificates = read_pem(node["ca_file"], tls.ca_file, read_ca_certificates);
}

// The client certificate is optional, but its two files come together and must match.
void check_redis_tls(const YamlNode& node, RedisTls& tls, const Config&) {
    if (!tls.verify && !tls.ca_file.empty())
        node["ca_file"].fail("has no effect with verify: false");
    if (!tls.ca_file.empty())
        tls.ca_certificates = read_pem(node["ca_file"], tls.ca_file, read_ca_certificates);
    if (tls.cert_file.empty() != tls.key_file.empty())
        node.fail(tls.cert_file.empty() ? "key_file needs cert_file (the client certificate)"
                                        : "cert_file needs key_file (the client certificate's key)");
    if (tls.cert_file.empty()) return;
    tls.chain = read_pem(node["cert_file"], tls.cert_file, read_certificate_chain);
    tls.key = read_pem(node["key_file"], tls.key_file, read_private_key);
    if (!key_matches(tls.chain.front(), tls.key))
        node["key_file"].fail("the key in \"" + tls.key_file +
                              "\" does not match the certificate in \"" + tls.cert_file + "\"");
}

}  // namespace

const Section<ServerTls>& server_tls_section() {
    using S = ServerTls;
    static const Names<TlsVersion> versions{{{"1.2", TlsVersion::v1_2}, {"1.3", TlsVersion::v1_3}},
                                            true};
    static const Section<S> section{{text("cert_file", &S::cert_file, not_empty()).required(),
                                     text("key_file", &S::key_file, not_empty()).required(),
                                     choice("min_version", &S::min_version, versions)},
                                    check_server_tls};
    return section;
}

const Section<BackendTls>& backend_tls_section() {
    using S = BackendTls;
    static const Section<S> section{
        {text("ca_file", &S::ca_file, not_empty()), flag("verify", &S::verify),
         text("server_name", &S::server_name, not_empty())},
        check_backend_tls};
    return section;
}

const Section<RedisTls>& redis_tls_section() {
    using S = RedisTls;
    static const Section<S> section{
        {text("ca_file", &S::ca_file, not_empty()), flag("verify", &S::verify),
         text("server_name", &S::server_name, not_empty()),
         text("cert_file", &S::cert_file, not_empty()),
         text("key_file", &S::key_file, not_empty())},
        check_redis_tls};
    return section;
}

}  // namespace llmgw::config::schema
