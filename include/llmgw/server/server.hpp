// The running daemon: worker threads with their listeners, the admin listener, signals and drain.
#pragma once

#include <memory>
#include <string>

#include "llmgw/config/config.hpp"

namespace llmgw::server {

class Server {
public:
    // `config_path` is read again on SIGHUP and POST /admin/reload.
    Server(std::shared_ptr<const config::Config> config, std::string config_path = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every listener; throws std::runtime_error naming the address that failed.
    void start();
    // Serves until SIGINT or SIGTERM, then stops accepting, lets in-flight requests
    // finish (up to server.drain_timeout) and returns.
    void run();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace llmgw::server
