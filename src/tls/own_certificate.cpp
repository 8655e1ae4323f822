// A context's own certificate chain and key, checked to belong together.
#include "own_certificate.hpp"

#include <openssl/ssl.h>

#include "llmgw/tls/tls_error.hpp"

namespace llmgw::tls {

void use_own_certificate(SSL_CTX* context, const std::vector<config::Certificate>& chain,
                         const config::PrivateKey& key, const std::string& key_name,
                         const std::string& mismatch) {
    bool usable = !chain.empty() && SSL_CTX_use_certificate(context, chain.front().get()) == 1;
    for (std::size_t i = 1; usable && i < chain.size(); ++i)
        usable = SSL_CTX_add1_chain_cert(context, chain[i].get()) == 1;
    usable = usable && SSL_CTX_use_PrivateKey(context, key.get()) == 1 &&
             SSL_CTX_check_private_key(context) == 1;
    if (!usable)
        throw TlsFileError(key_name,
                           mismatch + " (" + config::take_openssl_error("unknown error") + ")");
}

}  // namespace llmgw::tls
