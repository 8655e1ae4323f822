// The drain on SIGTERM: requests in flight are counted, and whoever waits for them is told
// when the last one ends (no polling), or gives up at its deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "llmgw/http/beast.hpp"

namespace llmgw::gateway {

class Drain {
public:
    // Counts one request in flight for its lifetime.
    class Hold {
    public:
        explicit Hold(Drain& drain) : drain_(drain) { drain_.in_flight_.fetch_add(1); }
        ~Hold() { drain_.release(); }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

    private:
        Drain& drain_;
    };

    bool draining() const { return draining_.load(std::memory_order_relaxed); }
    std::int64_t in_flight() const { return in_flight_.load(); }

    // From now on new answers close their connections; waits on `executor` until no request
    // is in flight or `timeout` passed. True when every request ended.
    http::Task<bool> drain(std::chrono::milliseconds timeout);

private:
    void release();

    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<bool> draining_{false};
    std::mutex waiter_mutex_;  // guards waiter_ against the last release
    http::Timer* waiter_ = nullptr;
};

}  // namespace llmgw::gateway
