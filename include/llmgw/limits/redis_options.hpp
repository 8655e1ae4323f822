// The configured Redis as client options: one place that reads the `redis` section.
#pragma once

#include "llmgw/config/config.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::limits {

redis::Client::Options redis_client_options(const config::RedisConfig& config);

}  // namespace llmgw::limits
