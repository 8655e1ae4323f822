// Coalescing of identical cache misses: while the first request for a key is being answered,
// later identical ones (on any worker) wait for its answer instead of calling the model too.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace llmgw::cache {

class Coalescer {
public:
    struct Flight;

    // Held by the request that leads a flight; landing (or destroying it) wakes the followers.
    class Lead {
    public:
        Lead() = default;
        Lead(Coalescer* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
        Lead(Lead&& other) noexcept { *this = std::move(other); }
        Lead& operator=(Lead&& other) noexcept;
        ~Lead() { land(); }
        // The answer is stored (or will never be): followers look again.
        void land();
        bool leading() const { return owner_ != nullptr; }

    private:
        Coalescer* owner_ = nullptr;
        std::string key_;
    };

    // Either a Lead (first for this key), or the flight to wait for.
    struct Joined {
        Lead lead;
        std::shared_ptr<Flight> follow;
    };
    Joined join(const std::string& key);

    // Waits on the caller's executor until `flight` lands or `limit` passes.
    // Returns false when the limit passed first.
    static boost::asio::awaitable<bool, boost::asio::io_context::executor_type> wait(std::shared_ptr<Flight> flight,
                                             std::chrono::milliseconds limit);

    std::size_t in_flight() const;

private:
    void land(const std::string& key);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace llmgw::cache
