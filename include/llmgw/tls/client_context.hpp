// What a backend's https:// endpoints (backends.<name>.tls) and a rediss:// Redis (redis.tls) are
// reached with: trusted CAs (a ca_file or the system store), certificate and host name
// verification, SNI; for Redis, a client certificate too.
#pragma once

#include <memory>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/tls/tls_error.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace llmgw::tls {

class ClientContext {
public:
    // `backend` names the config key in errors; throws TlsFileError for an unusable ca_file.
    ClientContext(const std::string& backend, const config::BackendTls& tls);
    // redis.tls: the same checks, without ALPN, and the gateway's own certificate when the
    // section names one (mTLS). Throws TlsFileError.
    explicit ClientContext(const config::RedisTls& tls);
    ~ClientContext();
    ClientContext(const ClientContext&) = delete;
    ClientContext& operator=(const ClientContext&) = delete;

    boost::asio::ssl::context& context() { return *context_; }
    // Per connection to `host`: the SNI name (never an IP address, RFC 6066) and the name or
    // address the certificate must carry.
    // Returns false when OpenSSL refuses the name.
    bool prepare(ssl_st* ssl, const std::string& host) const;
    bool verifies() const { return settings_.verify; }
    // Equal for contexts that check a server the same way (trust anchors, verification,
    // name): a pooled connection is reused only under the identity it was verified with.
    const std::string& identity() const { return identity_; }

private:
    // Trust anchors and verification from settings_; `key` names the section in errors.
    void trust(const std::string& key);

    config::BackendTls settings_;
    std::string identity_;
    std::shared_ptr<boost::asio::ssl::context> context_;
};

// Why a handshake with an upstream failed, for the log: the certificate check's verdict when
// that is what failed, else OpenSSL's reason.
std::string handshake_failure(ssl_st* ssl, const std::string& error_message);

}  // namespace llmgw::tls
