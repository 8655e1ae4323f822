// limits' view of the redis section, plus the TLS context of rediss:// (built by tls, which the
// redis component does not know).
#include "llmgw/gateway/redis_options.hpp"

#include "llmgw/limits/redis_options.hpp"
#include "llmgw/tls/client_context.hpp"

namespace llmgw::gateway {

redis::Client::Options redis_options(const config::Config& config) {
    auto options = limits::redis_client_options(*config.redis, config.cache);
    if (config.redis->tls) options.tls = redis_tls(*config.redis->tls);
    return options;
}

redis::Client::Tls redis_tls(const config::RedisTls& settings) {
    auto context = std::make_shared<tls::ClientContext>(settings);
    redis::Client::Tls tls;
    // The aliasing pointer keeps the whole ClientContext alive with its ssl::context.
    tls.context = std::shared_ptr<boost::asio::ssl::context>(context, &context->context());
    tls.prepare = [context](ssl_st* ssl, const std::string& host) {
        return context->prepare(ssl, host);
    };
    tls.describe_failure = [](ssl_st* ssl, const std::string& error) {
        return tls::handshake_failure(ssl, error);
    };
    return tls;
}

}  // namespace llmgw::gateway
