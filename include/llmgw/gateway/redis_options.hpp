// The configured Redis as client options, TLS included: the one place the gateway's Redis
// clients (each worker's, the admin listener's) get their settings.
#pragma once

#include "llmgw/config/config.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::gateway {

// Throws tls::TlsFileError when redis.tls cannot be used (checked again at start).
redis::Client::Options redis_options(const config::Config& config);

// The client's TLS from redis.tls (a tls::ClientContext behind it). Throws tls::TlsFileError.
redis::Client::Tls redis_tls(const config::RedisTls& settings);

}  // namespace llmgw::gateway
