// Client options from the `redis` config section.
#include "llmgw/limits/redis_options.hpp"

namespace llmgw::limits {

redis::Client::Options redis_client_options(const config::RedisConfig& config) {
    redis::Client::Options options;
    options.host = config.host;
    options.port = config.port;
    options.username = config.username;
    options.password = config.password;
    options.db = config.db;
    options.timeout = config.timeout;
    // Limits must hold again soon after Redis comes back: retry connecting at least twice a second.
    options.reconnect_max = std::chrono::milliseconds(500);
    return options;
}

}  // namespace llmgw::limits
