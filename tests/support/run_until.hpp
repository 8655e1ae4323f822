// Pumps an io_context on the test's own thread until a condition holds or a deadline passes:
// the wait of a test that drives asynchronous code without a thread of its own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace llmgw::testing {

// Runs `io` until `done()` or the deadline; false at the deadline.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::steady_clock::duration deadline = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace llmgw::testing
