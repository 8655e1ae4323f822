// The listener's TLS settings (server.tls): certificate chain, key, TLS 1.2+ with modern
// ciphers, ALPN http/1.1. Each new connection takes the current context; a reload swaps in a
// new one atomically while connections already open keep theirs.
#pragma once

#include <atomic>
#include <memory>

#include "llmgw/config/config.hpp"
#include "llmgw/tls/tls_error.hpp"

namespace boost::asio::ssl {
class context;
}

namespace llmgw::tls {

using SslContext = boost::asio::ssl::context;

// Builds a server context from the section; throws TlsFileError naming the key and the file
// (missing or unreadable file, not PEM, a key that does not match the certificate).
std::shared_ptr<SslContext> make_server_context(const config::ServerTls& tls);

class ServerContext {
public:
    // Throws TlsFileError.
    explicit ServerContext(const config::ServerTls& tls);

    // The context new connections use (one atomic load).
    std::shared_ptr<SslContext> current() const { return current_.load(); }
    // Builds a context from `tls` (reading the files again, so renewed certificates at the
    // same paths are picked up) and swaps it in; on TlsFileError the current one stays.
    void reload(const config::ServerTls& tls);
    // Swaps in a context built beforehand with make_server_context (a reload that commits
    // only once everything else it changes was built too).
    void install(std::shared_ptr<SslContext> context) { current_.store(std::move(context)); }

private:
    std::atomic<std::shared_ptr<SslContext>> current_;
};

}  // namespace llmgw::tls
