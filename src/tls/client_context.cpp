// Client TLS for https:// upstreams: TLS 1.2 at least, the system's CAs or a ca_file, host
// name (or IP address) checked by OpenSSL during the handshake, SNI from the URL host.
#include "llmgw/tls/client_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "own_certificate.hpp"

namespace llmgw::tls {

namespace ssl = boost::asio::ssl;

namespace {

std::shared_ptr<ssl::context> new_client_context() {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = context->native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    return context;
}

config::BackendTls server_checks(const config::RedisTls& tls) {
    config::BackendTls checks;
    checks.ca_file = tls.ca_file;
    checks.verify = tls.verify;
    checks.server_name = tls.server_name;
    checks.ca_certificates = tls.ca_certificates;
    return checks;
}

}  // namespace

ClientContext::ClientContext(const std::string& backend, const config::BackendTls& tls)
    : settings_(tls),
      identity_((tls.verify ? "verify|" : "no-verify|") + tls.ca_file + "|" + tls.server_name),
      context_(new_client_context()) {
    static constexpr unsigned char http11[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(context_->native_handle(), http11, sizeof http11 - 1);
    trust("backends." + backend + ".tls");
}

ClientContext::ClientContext(const config::RedisTls& tls)
    : settings_(server_checks(tls)),
      identity_((tls.verify ? "verify|" : "no-verify|") + tls.ca_file + "|" + tls.server_name),
      context_(new_client_context()) {
    trust("redis.tls");
    if (tls.cert_file.empty()) return;
    if (tls.chain.empty() || !tls.key)
        throw TlsFileError("redis.tls.cert_file", "was not loaded with the configuration");
    use_own_certificate(context_->native_handle(), tls.chain, tls.key, "redis.tls.key_file",
                        "the key in \"" + tls.key_file + "\" does not match the certificate in \"" +
                            tls.cert_file + "\"");
}

void ClientContext::trust(const std::string& key) {
    SSL_CTX* native = context_->native_handle();
    if (!settings_.verify) {
        SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
        return;
    }
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (settings_.ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(native) != 1)
            throw TlsFileError(key, "the system's CA certificates cannot be loaded (" +
                                        config::take_openssl_error("unknown error") + ")");
        return;
    }
    // The loader read and checked ca_file; a section built by hand may not have been.
    if (settings_.ca_certificates.empty())
        throw TlsFileError(key + ".ca_file",
                           "\"" + settings_.ca_file + "\" was not loaded with the configuration");
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (const auto& certificate : settings_.ca_certificates)
        X509_STORE_add_cert(store, certificate.get());
}

ClientContext::~ClientContext() = default;

bool ClientContext::prepare(ssl_st* ssl, const std::string& host) const {
    const auto& name = settings_.server_name.empty() ? host : settings_.server_name;
    boost::system::error_code not_an_address;
    boost::asio::ip::make_address(name, not_an_address);
    const bool is_address = !not_an_address;
    if (!is_address && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return false;
    if (!settings_.verify) return true;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    return set == 1;
}

std::string handshake_failure(ssl_st* ssl, const std::string& error_message) {
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK)
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(verdict);
    return error_message;
}

}  // namespace llmgw::tls
