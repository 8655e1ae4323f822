// The certificate a context presents (a server's, or a client's for mTLS), with its key.
#pragma once

#include <string>
#include <vector>

#include "llmgw/config/pem.hpp"

struct ssl_ctx_st;

namespace llmgw::tls {

// Installs the chain (leaf first) and its key on `context`; throws TlsFileError(`key_name`,
// `mismatch` + OpenSSL's reason) when OpenSSL refuses them.
void use_own_certificate(ssl_ctx_st* context, const std::vector<config::Certificate>& chain,
                         const config::PrivateKey& key, const std::string& key_name,
                         const std::string& mismatch);

}  // namespace llmgw::tls
