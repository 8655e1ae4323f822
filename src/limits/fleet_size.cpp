// FleetSize: the instances' heartbeats in one sorted set, counted on every beat.
#include "llmgw/limits/fleet_size.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <random>
#include <vector>

#include "llmgw/redis/client.hpp"
#include "llmgw/redis/script.hpp"

namespace llmgw::limits {

namespace {

// KEYS[1] the set; ARGV: this instance's id, the ttl (ms). Returns the live members.
const redis::Script& heartbeat_script() {
    static const redis::Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return redis.call('ZCARD', KEYS[1])
)lua");
    return script;
}

std::string random_instance_id() {
    std::random_device device;
    const std::uint64_t high = device(), low = device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>((high << 32) ^ low));
    return text;
}

}  // namespace

struct FleetSize::State {
    redis::Client& client;
    http::Timer timer;
    std::string key, id;
    std::atomic<unsigned>* live;  // null once the FleetSize is gone
};

FleetSize::FleetSize() : id_(random_instance_id()) {}

FleetSize::~FleetSize() { stop(); }

void FleetSize::stop() {
    if (!state_) return;
    state_->live = nullptr;
    state_->timer.cancel();
    state_.reset();
}

void FleetSize::start(redis::Client& client, http::Executor executor,
                      const std::string& key_prefix) {
    stop();
    state_ = std::make_shared<State>(
        State{client, http::Timer(executor), key_prefix + "instances", id_, &live_});
    auto beat = [](std::shared_ptr<State> state) -> http::Task<void> {
        const auto ttl_ms = std::to_string(std::chrono::milliseconds(ttl).count());
        while (state->live != nullptr) {
            std::vector<std::string> keys{state->key};
            std::vector<std::string> args{state->id, ttl_ms};
            auto reply = co_await state->client.eval(heartbeat_script(), std::move(keys), std::move(args));
            if (state->live == nullptr) break;
            if (reply && reply->is_integer() && reply->integer > 0)
                state->live->store(static_cast<unsigned>(reply->integer), std::memory_order_relaxed);
            state->timer.expires_after(every);
            const auto [ec] = co_await state->timer.async_wait(boost::asio::as_tuple(http::use_awaitable));
            if (ec) break;
        }
    };
    http::net::co_spawn(state_->timer.get_executor(), beat(state_), http::net::detached);
}

}  // namespace llmgw::limits
