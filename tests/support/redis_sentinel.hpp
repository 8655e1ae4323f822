// A Redis master, its replica and a sentinel watching them, each a real redis-server on a free
// loopback port: for failover tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace llmgw::testing {

class RedisSentinelSet {
public:
    // Starts the master, a replica in sync with it, then a sentinel that knows both (the master
    // is "down" after 500 ms without an answer; quorum 1). With `sentinel_password`, the
    // sentinel wants AUTH (requirepass). With `tls`, all three speak only TLS (replication and
    // the sentinel's own connections too). Throws std::runtime_error.
    static RedisSentinelSet start(std::string master_name = "mymaster",
                                  std::string sentinel_password = "",
                                  std::optional<RedisServer::Tls> tls = std::nullopt);

    const std::string& master_name() const { return master_name_; }
    uint16_t sentinel_port() const { return sentinel_port_; }
    // The master's port as the sentinel names it now.
    uint16_t master_port();
    RedisServer& first() { return first_; }    // the master at start
    RedisServer& second() { return second_; }  // its replica at start
    // SIGKILLs the current master; returns once the sentinel names the other one master and
    // that one says ROLE master (throws after 20 s).
    void kill_master();

private:
    RedisSentinelSet(std::string master_name, RedisServer first, RedisServer second);
    void start_sentinel();
    std::string ask_sentinel(std::vector<std::string> args);

    std::string master_name_;
    std::string sentinel_password_;
    std::optional<RedisServer::Tls> tls_;
    RedisServer first_;
    RedisServer second_;
    TempDir dir_;
    uint16_t sentinel_port_ = 0;
    std::optional<Process> sentinel_;
};

}  // namespace llmgw::testing
