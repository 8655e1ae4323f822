// redis-server --cluster-enabled nodes joined by redis-cli --cluster create, on loopback.
#include "support/redis_cluster.hpp"

#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/ports.hpp"
#include "support/process.hpp"

namespace llmgw::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Polls `done` every 20 ms until `deadline`; throws with `what` when it never holds.
template <typename Done>
void wait_until(Done done, std::chrono::milliseconds deadline, const std::string& what) {
    const auto until = Clock::now() + deadline;
    while (!done()) {
        if (Clock::now() >= until) throw std::runtime_error("redis cluster: " + what);
        std::this_thread::sleep_for(20ms);
    }
}

std::string password_in(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--requirepass") return args[i + 1];
    return "";
}

// "a b c" of CLUSTER SHARDS' flat output is hard to read; CLUSTER NODES is one line per node:
// <id> <ip:port@bus> <flags> <master id> ... <slots...>
struct NodeLine {
    uint16_t port = 0;
    bool master = false, failed = false;
    std::vector<std::pair<int, int>> ranges;
};

std::vector<NodeLine> parse_nodes(const std::string& text) {
    std::vector<NodeLine> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, address, flags, master, ping, pong, epoch, state, range;
        if (!(fields >> id >> address >> flags >> master >> ping >> pong >> epoch >> state))
            continue;
        NodeLine node;
        const auto colon = address.find(':');
        node.port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
        node.master = flags.find("master") != std::string::npos;
        node.failed = flags.find("fail") != std::string::npos;
        while (fields >> range) {
            if (range.front() == '[') continue;  // a slot being migrated
            const auto dash = range.find('-');
            const int first = std::stoi(range.substr(0, dash));
            const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
            node.ranges.emplace_back(first, last);
        }
        lines.push_back(std::move(node));
    }
    return lines;
}

}  // namespace

std::unique_ptr<RedisCluster> RedisCluster::start(std::vector<std::string> extra_args,
                                                  std::chrono::milliseconds node_timeout,
                                                  std::optional<RedisServer::Tls> tls) {
    std::unique_ptr<RedisCluster> cluster(new RedisCluster());
    const auto password = password_in(extra_args);
    for (int i = 0; i < 6; ++i) {
        auto args = extra_args;
        args.insert(args.end(),
                    {"--cluster-enabled", "yes", "--cluster-config-file",
                     cluster->dir_.file("nodes-" + std::to_string(i) + ".conf"),
                     "--cluster-node-timeout", std::to_string(node_timeout.count()),
                     "--cluster-port", std::to_string(free_port()),
                     "--cluster-replica-validity-factor", "0", "--dir", cluster->dir_.path()});
        if (!password.empty()) args.insert(args.end(), {"--masterauth", password});
        if (tls) args.insert(args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
        cluster->nodes_.push_back(std::make_unique<RedisServer>(
            tls ? RedisServer::start_tls(*tls, args) : RedisServer::start(args)));
    }
    std::vector<std::string> create{"--cluster", "create"};
    for (const auto& node : cluster->nodes_)
        create.push_back("127.0.0.1:" + std::to_string(node->port()));
    create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
    if (!password.empty()) create.insert(create.end(), {"-a", password, "--no-auth-warning"});
    if (tls) create.insert(create.end(), {"--tls", "--cacert", tls->ca});
    std::string out, err;
    if (run_to_exit("redis-cli", create, 30s, &out, &err) != 0)
        throw std::runtime_error("redis cluster: create failed: " + out + err);
    cluster->wait_ok(20s);
    wait_until(
        [&] {
            for (std::size_t i = 0; i < cluster->size(); ++i) {
                const auto info = cluster->cli(i, {"INFO", "replication"});
                if (info.find("role:slave") != std::string::npos &&
                    info.find("master_link_status:up") == std::string::npos)
                    return false;
            }
            return true;
        },
        20s, "the replicas never came in sync");
    return cluster;
}

std::size_t RedisCluster::index_of_port(uint16_t port) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i]->port() == port) return i;
    throw std::runtime_error("redis cluster: no node on port " + std::to_string(port));
}

std::size_t RedisCluster::master_of(uint16_t slot) {
    for (auto& node : nodes_) {
        if (!node->running()) continue;
        for (const auto& line : parse_nodes(node->cli({"CLUSTER", "NODES"}))) {
            if (!line.master || line.failed) continue;
            for (const auto& [first, last] : line.ranges)
                if (slot >= first && slot <= last) return index_of_port(line.port);
        }
        break;
    }
    throw std::runtime_error("redis cluster: no master serves slot " + std::to_string(slot));
}

std::vector<uint16_t> RedisCluster::master_ports() {
    std::vector<uint16_t> ports;
    for (auto& node : nodes_) {
        if (!node->running()) continue;
        for (const auto& line : parse_nodes(node->cli({"CLUSTER", "NODES"})))
            if (line.master && !line.failed && !line.ranges.empty()) ports.push_back(line.port);
        break;
    }
    return ports;
}

void RedisCluster::wait_ok(std::chrono::milliseconds deadline, int slot, int expected) {
    wait_until(
        [&] {
            for (auto& node : nodes_) {
                if (!node->running()) continue;
                const auto info = node->cli({"CLUSTER", "INFO"});
                if (info.find("cluster_state:ok") == std::string::npos) return false;
                if (slot < 0) continue;
                bool agrees = false;
                for (const auto& line : parse_nodes(node->cli({"CLUSTER", "NODES"}))) {
                    if (!line.master || line.failed) continue;
                    for (const auto& [first, last] : line.ranges)
                        if (slot >= first && slot <= last)
                            agrees = expected < 0 ? nodes_[index_of_port(line.port)]->running()
                                                  : line.port == nodes_[expected]->port();
                }
                if (!agrees) return false;
            }
            return true;
        },
        deadline, "the cluster never became ok");
}

}  // namespace llmgw::testing
