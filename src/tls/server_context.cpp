// Server TLS: the certificate chain and key, TLS 1.2 at least, ECDHE with AEAD ciphers for 1.2
// (1.3 suites are all modern), ALPN http/1.1, session tickets for cheap resumption.
#include "llmgw/tls/server_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstring>

#include "openssl_error.hpp"

namespace llmgw::tls {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and authenticated encryption only.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Picks http/1.1 when the client offers it; a client offering only other protocols (h2)
// gets no ALPN answer and may still speak HTTP/1.1.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void*) {
    static constexpr unsigned char http11[] = "\x08http/1.1";
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_length, http11, sizeof http11 - 1, offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::shared_ptr<SslContext> make_server_context(const config::ServerTls& tls) {
    const std::string cert_key = "server.tls.cert_file";
    const std::string key_key = "server.tls.key_file";
    if (!readable(tls.cert_file))
        throw TlsFileError(cert_key,
                           "cannot read \"" + tls.cert_file + "\": " + std::strerror(errno));
    if (!readable(tls.key_file))
        throw TlsFileError(key_key,
                           "cannot read \"" + tls.key_file + "\": " + std::strerror(errno));

    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(
        native, tls.min_version == config::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // No compression (CRIME), no renegotiation (a cheap way to make the server work hard).
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
        throw TlsFileError("server.tls", "OpenSSL refuses the cipher list");
    SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);
    SSL_CTX_set_num_tickets(native, 1);  // TLS 1.3: one resumption ticket is enough for HTTP/1.1

    if (SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1)
        throw TlsFileError(cert_key, "\"" + tls.cert_file + "\" is not a usable PEM certificate (" +
                                         take_openssl_error("unknown error") + ")");
    if (SSL_CTX_use_PrivateKey_file(native, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        const auto reason = take_openssl_error("unknown error");
        if (reason.find("mismatch") != std::string::npos)
            throw TlsFileError(key_key, "the key in \"" + tls.key_file +
                                            "\" does not match the certificate in \"" +
                                            tls.cert_file + "\"");
        throw TlsFileError(
            key_key, "\"" + tls.key_file + "\" is not a usable PEM private key (" + reason + ")");
    }
    if (SSL_CTX_check_private_key(native) != 1)
        throw TlsFileError(key_key, "the key in \"" + tls.key_file +
                                        "\" does not match the certificate in \"" + tls.cert_file +
                                        "\"");
    return context;
}

ServerContext::ServerContext(const config::ServerTls& tls) : current_(make_server_context(tls)) {}

void ServerContext::reload(const config::ServerTls& tls) {
    auto fresh = make_server_context(tls);  // throws before anything changes
    current_.store(std::move(fresh));
}

}  // namespace llmgw::tls
