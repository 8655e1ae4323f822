// A Redis Cluster of three masters with a replica each, real redis-server processes on free
// loopback ports, made at test time: for the Cluster client and its failover tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace llmgw::testing {

class RedisCluster {
public:
    // Starts six servers (`extra_args` added to each; a --requirepass also becomes
    // --masterauth), joins them with `redis-cli --cluster create --cluster-replicas 1`, and
    // returns once every node says cluster_state:ok and every replica is in sync. A node is
    // "failed" after `node_timeout` without an answer. Throws std::runtime_error.
    // With `tls`, every node speaks only TLS, the cluster bus and replication too.
    static std::unique_ptr<RedisCluster> start(
        std::vector<std::string> extra_args = {},
        std::chrono::milliseconds node_timeout = std::chrono::milliseconds(1000),
        std::optional<RedisServer::Tls> tls = std::nullopt);

    std::size_t size() const { return nodes_.size(); }
    RedisServer& node(std::size_t i) { return *nodes_[i]; }
    // The first node's port: a seed.
    uint16_t seed_port() const { return nodes_.front()->port(); }
    // redis-cli against node i (running), e.g. {"CLUSTER", "INFO"}.
    std::string cli(std::size_t i, std::vector<std::string> args) { return node(i).cli(args); }
    // The index of the node that serves `slot` as master now (as a live node tells it).
    std::size_t master_of(uint16_t slot);
    // The ports of the masters now, in no order.
    std::vector<uint16_t> master_ports();
    // Waits until every running node says cluster_state:ok and agrees that the master of
    // `slot` is `expected` (when -1: a node still running, e.g. the promoted replica of a
    // killed master); throws after `deadline`.
    void wait_ok(std::chrono::milliseconds deadline, int slot = -1, int expected = -1);

private:
    RedisCluster() = default;
    std::size_t index_of_port(uint16_t port) const;

    TempDir dir_;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace llmgw::testing
