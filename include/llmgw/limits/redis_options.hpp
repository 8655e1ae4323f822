// The configured Redis as client options: one place that reads the `redis` section.
#pragma once

#include "llmgw/config/config.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

// `cache` sizes the largest reply: a cached answer read back from Redis must fit.
redis::Client::Options redis_client_options(const config::RedisConfig& config,
                                            const config::CacheConfig& cache);

}  // namespace llmgw::limits
