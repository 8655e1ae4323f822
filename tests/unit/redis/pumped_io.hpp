// A test fixture for redis::Client tests: an io_context pumped on the test's own thread, so a
// test waits on a condition with a deadline instead of sleeping.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "llmgw/redis/client.hpp"

namespace llmgw::testing {

class PumpedIo : public ::testing::Test {
protected:
    using Clock = std::chrono::steady_clock;

    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
        boost::asio::make_work_guard(io);

    // Pumps the io_context on this thread until `done()` or the deadline.
    bool run_until(const std::function<bool()>& done,
                   Clock::duration deadline = std::chrono::seconds(5)) {
        const auto until = Clock::now() + deadline;
        while (!done()) {
            if (Clock::now() >= until) return false;
            io.run_one_for(std::chrono::milliseconds(10));
        }
        return true;
    }

    // A started client, once it is connected (a test failure if it does not within 5 s).
    std::unique_ptr<redis::Client> started(redis::Client::Options o) {
        auto client = std::make_unique<redis::Client>(io.get_executor(), std::move(o));
        client->start();
        EXPECT_TRUE(run_until([&] { return client->connected(); })) << "never connected";
        return client;
    }

    // Runs one call to completion, pumping the io_context.
    redis::Result run(redis::Task<redis::Result> task,
                      Clock::duration deadline = std::chrono::seconds(5)) {
        auto out = std::make_shared<std::optional<redis::Result>>();
        boost::asio::co_spawn(io, std::move(task),
                              [out](std::exception_ptr error, redis::Result result) {
                                  if (error) std::rethrow_exception(error);
                                  *out = std::move(result);
                              });
        if (!run_until([&] { return out->has_value(); }, deadline))
            throw std::runtime_error("call never finished");
        return std::move(**out);
    }
};

inline long long ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
}

// A call's result in words, for failure messages.
inline std::string describe(const redis::Result& result) {
    if (result) return "a reply";
    return std::string(to_string(result.error().kind)) + ": " + result.error().message;
}

}  // namespace llmgw::testing
