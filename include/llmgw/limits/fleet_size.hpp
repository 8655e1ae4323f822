// How many llmgw instances share the Redis: each announces itself there with a heartbeat, and
// while Redis is unreachable (failure_mode open) each enforces its share of every limit.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "llmgw/http/beast.hpp"

namespace llmgw::redis {
class Client;
}

namespace llmgw::limits {

// Every `every`, one script call on the given client: this instance's member in the sorted set
// {prefix}instances, scored with when it expires (Redis TIME + `ttl`), the expired members
// dropped, and the live members counted. The last count is kept: it is what the instance
// divides its limits by while Redis is away, so it must be known before Redis goes.
class FleetSize {
public:
    static constexpr auto every = std::chrono::seconds(1);
    static constexpr auto ttl = std::chrono::seconds(3);  // two heartbeats may be lost

    FleetSize();
    ~FleetSize();
    FleetSize(const FleetSize&) = delete;
    FleetSize& operator=(const FleetSize&) = delete;

    // Starts the heartbeats on `client` (on `executor`, the client's); stop() ends them, and
    // must run on that executor's thread or after it stopped.
    void start(redis::Client& client, http::Executor executor,
               const std::string& key_prefix = "llmgw:");
    void stop();
    // The live instances at the last heartbeat Redis answered, this one included (1 before
    // any). Any thread.
    unsigned live() const { return live_.load(std::memory_order_relaxed); }
    const std::string& id() const { return id_; }
    bool running() const { return state_ != nullptr; }

private:
    struct State;
    std::shared_ptr<State> state_;  // shared with the heartbeat loop, which may outlive this
    std::atomic<unsigned> live_{1};
    std::string id_;
};

}  // namespace llmgw::limits
