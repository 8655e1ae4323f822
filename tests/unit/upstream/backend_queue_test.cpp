// A backend's queue on a real io_context: waiters wake in the fair order as slots free, give
// up at the timeout or when full, and leave when their client does; a slot freed on another
// thread wakes a waiter of this one.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "llmgw/upstream/backend_queue.hpp"

using namespace std::chrono_literals;
using llmgw::upstream::BackendQueue;
using llmgw::upstream::FairQueue;
namespace net = boost::asio;

namespace {

// Slots of a pretend backend: taken by a waiter whose turn came, given back by the test.
struct Slots {
    std::atomic<std::size_t> free{0};
    bool take() {
        auto current = free.load();
        while (current > 0)
            if (free.compare_exchange_weak(current, current - 1)) return true;
        return false;
    }
};

struct Waiting {
    std::string name;
    std::optional<BackendQueue::Outcome> outcome;
};

llmgw::http::Task<void> wait_in(BackendQueue& queue, Slots& slots, FairQueue::Place place,
                                Waiting& into, llmgw::http::HangUp& hang_up,
                                std::vector<std::string>& served) {
    const auto result = co_await queue.wait(place, hang_up, [&] { return slots.take(); });
    into.outcome = result.outcome;
    if (result.outcome == BackendQueue::Outcome::served) served.push_back(into.name);
}

// Runs the io_context until `done` holds, or fails after a deadline.
template <typename Done>
void run_until(net::io_context& io, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(5ms);
        io.restart();
    }
    ASSERT_TRUE(done()) << "condition not reached within 5 s";
}

class BackendQueueTest : public testing::Test {
protected:
    void start(const std::string& name, FairQueue::Place place) {
        place.consumer = place.consumer.empty() ? name : place.consumer;
        waiting.push_back(std::make_unique<Waiting>(Waiting{name, {}}));
        hang_ups.push_back(std::make_unique<llmgw::http::HangUp>());
        net::co_spawn(io, wait_in(queue, slots, place, *waiting.back(), *hang_ups.back(), served),
                      net::detached);
        io.poll();
        io.restart();
    }
    void free_one() {
        ++slots.free;
        queue.slot_freed();
    }

    net::io_context io;
    llmgw::config::QueueConfig config{3, 300ms};
    Slots slots;
    BackendQueue queue{config, [this] { return slots.free.load(); }};
    std::vector<std::unique_ptr<Waiting>> waiting;
    std::vector<std::unique_ptr<llmgw::http::HangUp>> hang_ups;
    std::vector<std::string> served;
};

}  // namespace

TEST_F(BackendQueueTest, FreedSlotsWakeWaitersInPriorityOrder) {
    start("low", {"", 0, 1, 10});
    start("high", {"", 5, 1, 10});
    EXPECT_TRUE(queue.busy());
    EXPECT_EQ(queue.depths().at(0), 1u);
    EXPECT_EQ(queue.depths().at(5), 1u);
    free_one();
    run_until(io, [&] { return served.size() == 1; });
    EXPECT_EQ(served[0], "high");
    free_one();
    run_until(io, [&] { return served.size() == 2; });
    EXPECT_EQ(served[1], "low");
    EXPECT_FALSE(queue.busy());
    EXPECT_EQ(queue.depths().at(0), 0u);  // kept at 0, so its gauge goes down
}

TEST_F(BackendQueueTest, AWaiterGivesUpAtTheTimeout) {
    const auto started = std::chrono::steady_clock::now();
    start("late", {});
    run_until(io, [&] { return waiting[0]->outcome.has_value(); });
    EXPECT_EQ(*waiting[0]->outcome, BackendQueue::Outcome::timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
    EXPECT_FALSE(queue.busy());
    EXPECT_GE(queue.retry_after_seconds(), 1);
}

TEST_F(BackendQueueTest, OneMoreThanMaxWaitingIsRefusedAtOnce) {
    for (int i = 0; i < 3; ++i) start("w" + std::to_string(i), {});
    start("fourth", {});
    ASSERT_TRUE(waiting[3]->outcome.has_value());
    EXPECT_EQ(*waiting[3]->outcome, BackendQueue::Outcome::full);
    EXPECT_FALSE(waiting[0]->outcome.has_value());
}

TEST_F(BackendQueueTest, AClientThatLeavesIsTakenOutOfTheLine) {
    start("leaves", {});
    start("stays", {});
    hang_ups[0]->fire();
    run_until(io, [&] { return waiting[0]->outcome.has_value(); });
    EXPECT_EQ(*waiting[0]->outcome, BackendQueue::Outcome::left);
    EXPECT_EQ(queue.depths().at(0), 1u);
    free_one();
    run_until(io, [&] { return served.size() == 1; });
    EXPECT_EQ(served[0], "stays");
}

TEST_F(BackendQueueTest, ATurnWhoseSlotWasTakenMeanwhileWaitsForTheNextOne) {
    start("first", {});
    start("second", {});
    // The queue is told of a slot that someone else takes before the waiter gets to it.
    ++slots.free;
    queue.slot_freed();
    slots.take();
    io.poll();
    io.restart();
    EXPECT_TRUE(served.empty());
    free_one();
    run_until(io, [&] { return served.size() == 1; });
    EXPECT_EQ(served[0], "first");  // it kept its place at the head
}

TEST_F(BackendQueueTest, ASlotFreedOnAnotherThreadWakesAWaiterHere) {
    start("here", {});
    std::thread other([&] { free_one(); });
    other.join();
    run_until(io, [&] { return served.size() == 1; });
    EXPECT_EQ(served[0], "here");
}
