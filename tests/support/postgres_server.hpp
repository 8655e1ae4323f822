// A real PostgreSQL server for tests: initdb in a temp dir and `postgres` on a free loopback
// port, both as the `postgres` user (PostgreSQL refuses to run as root); stop and start again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace llmgw::testing {

class PostgresServer {
public:
    // initdb (trust authentication for the user `llmgw`) and start; returns once the server
    // accepts connections. Throws std::runtime_error with the server's output otherwise.
    static PostgresServer start();
    PostgresServer(PostgresServer&&) = default;
    ~PostgresServer();

    uint16_t port() const { return port_; }
    // postgres://llmgw@127.0.0.1:PORT/postgres
    std::string url() const;
    // A fast shutdown (SIGINT), waiting for the exit: every client connection is closed.
    void stop();
    // Starts again on the same port and data; returns once it accepts connections.
    void restart();
    // SIGSTOP / SIGCONT to the server and every process of it: connections stay open and
    // nothing answers, like a database host that hangs or a network that drops everything.
    void freeze();
    void thaw();

private:
    PostgresServer(TempDir dir, uint16_t port) : dir_(std::move(dir)), port_(port) {}
    void launch();
    void signal_all(int sig);

    TempDir dir_;
    uint16_t port_;
    std::optional<Process> process_;
};

}  // namespace llmgw::testing
