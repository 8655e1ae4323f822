// redis-server --sentinel next to a master and its replica; the failover is the sentinel's own.
#include "support/redis_sentinel.hpp"

#include <stdexcept>
#include <thread>

#include "support/ports.hpp"

namespace llmgw::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string cli(uint16_t port, std::vector<std::string> args) {
    std::vector<std::string> argv{"-p", std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    const auto status = run_to_exit("redis-cli", std::move(argv), 5s, &out);
    if (status != 0) return "";
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// Polls `done` every 50 ms for up to `deadline`; throws with `what` when it never holds.
template <typename Done>
void wait_until(Done done, std::chrono::seconds deadline, const std::string& what) {
    const auto until = Clock::now() + deadline;
    while (!done()) {
        if (Clock::now() >= until) throw std::runtime_error("redis sentinel set: " + what);
        std::this_thread::sleep_for(50ms);
    }
}

}  // namespace

RedisSentinelSet::RedisSentinelSet(std::string master_name, RedisServer first, RedisServer second)
    : master_name_(std::move(master_name)), first_(std::move(first)), second_(std::move(second)) {}

RedisSentinelSet RedisSentinelSet::start(std::string master_name, std::string sentinel_password,
                                         std::optional<RedisServer::Tls> tls) {
    auto first = tls ? RedisServer::start_tls(*tls) : RedisServer::start();
    std::vector<std::string> replica{"--replicaof", "127.0.0.1", std::to_string(first.port())};
    if (tls) replica.insert(replica.end(), {"--tls-replication", "yes"});
    auto second = tls ? RedisServer::start_tls(*tls, replica) : RedisServer::start(replica);
    RedisSentinelSet set(std::move(master_name), std::move(first), std::move(second));
    set.sentinel_password_ = std::move(sentinel_password);
    set.tls_ = std::move(tls);
    // The sentinel finds the replica in the master's INFO: it must be listed there first.
    wait_until(
        [&] {
            return set.first_.cli({"INFO", "replication"}).find("state=online") !=
                   std::string::npos;
        },
        10s, "the replica never came online");
    set.start_sentinel();
    return set;
}

void RedisSentinelSet::start_sentinel() {
    sentinel_port_ = free_port();
    const std::string listen = !tls_ ? "port " + std::to_string(sentinel_port_) + "\n"
                                     : "port 0\ntls-port " + std::to_string(sentinel_port_) +
                                           "\ntls-cert-file " + tls_->cert + "\ntls-key-file " +
                                           tls_->key + "\ntls-ca-cert-file " + tls_->ca +
                                           "\ntls-replication yes\ntls-auth-clients no\n";
    const std::string config =
        listen +
        "bind 127.0.0.1\nprotected-mode no\n"
        "sentinel monitor " +
        master_name_ + " 127.0.0.1 " + std::to_string(first_.port()) +
        " 1\n"
        "sentinel down-after-milliseconds " +
        master_name_ +
        " 500\n"
        "sentinel failover-timeout " +
        master_name_ + " 3000\n" +
        (sentinel_password_.empty() ? std::string() : "requirepass " + sentinel_password_ + "\n");
    const auto path = dir_.write("sentinel.conf", config);  // the sentinel rewrites it
    sentinel_ = Process::start("redis-server", {path, "--sentinel"});
    wait_until([&] { return master_port() == first_.port(); }, 10s,
               "the sentinel never named the master: " + sentinel_->stdout_text());
    wait_until(
        [&] {
            return ask_sentinel({"SENTINEL", "replicas", master_name_})
                       .find(std::to_string(second_.port())) != std::string::npos;
        },
        15s, "the sentinel never found the replica");
}

std::string RedisSentinelSet::ask_sentinel(std::vector<std::string> args) {
    if (!sentinel_password_.empty())
        args.insert(args.begin(), {"-a", sentinel_password_, "--no-auth-warning"});
    if (tls_) args.insert(args.begin(), {"--tls", "--cacert", tls_->ca});
    return cli(sentinel_port_, std::move(args));
}

uint16_t RedisSentinelSet::master_port() {
    const auto answer = ask_sentinel({"SENTINEL", "get-master-addr-by-name", master_name_});
    const auto newline = answer.find('\n');
    if (newline == std::string::npos) return 0;
    return static_cast<uint16_t>(std::stoi(answer.substr(newline + 1)));
}

void RedisSentinelSet::kill_master() {
    const auto before = master_port();
    RedisServer& master = before == first_.port() ? first_ : second_;
    RedisServer& replica = before == first_.port() ? second_ : first_;
    master.kill();
    wait_until([&] { return master_port() == replica.port(); }, 20s, "no failover");
    wait_until([&] { return replica.cli({"ROLE"}).rfind("master", 0) == 0; }, 20s,
               "the promoted replica does not say ROLE master");
}

}  // namespace llmgw::testing
