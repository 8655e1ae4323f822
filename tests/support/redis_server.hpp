// A real redis-server on a free loopback port for tests: start, stop, restart, pause, kill.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace llmgw::testing {

// The server keeps nothing on disk (no RDB, no AOF). The destructor SIGKILLs a server still
// running. Start it from the test's own thread (see Process::start).
class RedisServer {
public:
    // Starts `redis-server` with `extra_args` appended (e.g. {"--requirepass", "secret"});
    // returns once it answers PING. Throws std::runtime_error (with the server's output) if
    // it does not within 10 s.
    static RedisServer start(std::vector<std::string> extra_args = {});

    // TLS only (no plain port). `ca` checks the clients' certificates; with `client_cert`
    // set, clients must present one (mTLS) and cli() presents it.
    struct Tls {
        std::string cert, key, ca;
        std::string client_cert, client_key;
    };
    static RedisServer start_tls(Tls tls, std::vector<std::string> extra_args = {});

    uint16_t port() const { return port_; }
    bool running() { return process_ && process_->running(); }

    // SIGTERM and wait for the exit.
    void stop();
    // SIGKILL and wait for the exit: the clients' connections are reset.
    void kill();
    // Stops the server if it runs, then starts it again on the same port with the same
    // arguments; returns once it answers PING.
    void restart();
    // CLIENT PAUSE: the server holds every client's commands for `duration` (returns at once).
    void pause(std::chrono::milliseconds duration);
    // Runs `redis-cli -p PORT [-a PASSWORD] args...` and returns its stdout without the
    // trailing newline (raw values: "OK", "5", "" for nil). Throws if it fails or hangs.
    std::string cli(std::vector<std::string> args);

private:
    RedisServer(uint16_t port, std::vector<std::string> extra_args);
    void launch();
    std::vector<std::string> launch_args() const;
    bool answers_ping();

    uint16_t port_;
    std::vector<std::string> extra_args_;
    std::string password_;
    std::optional<Tls> tls_;
    std::optional<Process> process_;
};

}  // namespace llmgw::testing
