// Server TLS: the certificate chain and key, TLS 1.2 at least, ECDHE with AEAD ciphers for 1.2
// (1.3 suites are all modern), ALPN http/1.1, session tickets for cheap resumption.
#include "llmgw/tls/server_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "own_certificate.hpp"

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
    const std::string key_key = "server.tls.key_file";
    // The loader read and checked the files; a section built by hand may not have been.
    if (tls.chain.empty() || !tls.key)
        throw TlsFileError(tls.chain.empty() ? "server.tls.cert_file" : key_key,
                           "was not loaded with the configuration");
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

    use_own_certificate(native, tls.chain, tls.key, key_key,
                        "the key in \"" + tls.key_file + "\" does not match the certificate in \"" +
                            tls.cert_file + "\"");
    return context;
}

ServerContext::ServerContext(const config::ServerTls& tls) : current_(make_server_context(tls)) {}

void ServerContext::reload(const config::ServerTls& tls) {
    auto fresh = make_server_context(tls);  // throws before anything changes
    current_.store(std::move(fresh));
}

}  // namespace llmgw::tls
