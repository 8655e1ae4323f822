// A call on a Cluster: to the master of its key's slot, following MOVED (the map changed) and
// ASK (a slot being migrated) a few times, all within the call's one time bound.
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>

#include "cluster.hpp"
#include "stream.hpp"

namespace llmgw::redis::detail {

namespace asio = boost::asio;

namespace {

// A redirect, then perhaps a second one while the map settles: more means a map in flux, and
// the call gives up (within its timeout anyway).
constexpr int max_redirects = 3;

// A redirect's target may be a connection opened just now: it gets until the deadline.
Task<void> wait_ready(const std::shared_ptr<Connection>& connection, Clock::time_point deadline) {
    Timer timer(connection->executor());
    while (!connection->ready() && Clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(2));
        co_await timer.async_wait(asio::as_tuple(use_awaitable));
    }
}

// One exchange with one node: ASKING first when asked to; a script's by exchange_script.
// `command`: in RESP (without a script).
Task<Result> exchange(const std::shared_ptr<Connection>& connection, const std::string& command,
                      const ScriptCall& script, Clock::time_point deadline, bool asking) {
    if (script.script != nullptr) {
        Result result = co_await exchange_script(connection, script, deadline, asking);
        co_return result;
    }
    static const std::vector<std::string> asking_command{"ASKING"};
    if (asking) connection->send(asking_command, deadline);
    Result result = co_await wait_for(connection->send_encoded(command, deadline));
    co_return result;
}

Result no_master(std::uint16_t slot) {
    return Error{Error::Kind::not_connected,
                 "not connected to the redis cluster master of slot " + std::to_string(slot)};
}

// `slot` nullopt: any master. `command`: in RESP; or `script`'s call.
Task<Result> run_call(std::shared_ptr<Cluster> cluster, std::optional<std::uint16_t> slot,
                      std::string command, ScriptCall script) {
    const auto start = Clock::now();
    const auto deadline = start + cluster->options().timeout;
    auto target = slot ? cluster->for_slot(*slot) : cluster->any_master();
    bool asking = false;
    Result result;
    for (int redirects = 0;; ++redirects) {
        if (target && redirects > 0) co_await wait_ready(target, deadline);
        if (!target || !target->ready()) {
            cluster->want_refresh();  // the master is lost or unknown: a failover, perhaps
            result = no_master(slot.value_or(0));
            cluster->finished_unsent(start, result);
            co_return result;
        }
        result = co_await exchange(target, command, script, deadline, asking);
        const auto redirect = redirect_of(result);
        if (!redirect || redirects == max_redirects || Clock::now() >= deadline) break;
        target = cluster->follow(*redirect, *target);
        asking = redirect->ask;
    }
    if (!result && result.error().kind == Error::Kind::disconnected) cluster->want_refresh();
    target->finished(start, result);
    co_return result;
}

// The slot every key of a call hashes to; a message naming two that differ otherwise.
std::optional<std::uint16_t> common_slot(const Arguments& keys, std::string& problem) {
    std::optional<std::uint16_t> slot;
    keys.for_each([&](std::string_view key) {
        const auto other = key_slot(key);
        if (!slot) slot = other;
        if (other == *slot || !problem.empty()) return;
        problem = "the keys of one call hash to different redis cluster slots (" +
                  std::to_string(*slot) + " and " + std::to_string(other) +
                  "); a hash tag {...} must keep them together";
    });
    if (!problem.empty()) return std::nullopt;
    return slot;
}

Task<Result> fail_now(Result result) {
    co_return result;
}

}  // namespace

Task<Result> Cluster::command(std::vector<std::string> args) {
    std::optional<std::uint16_t> slot;
    if (args.size() > 1) slot = key_slot(args[1]);
    std::string command;
    append_command(command, args);
    ScriptCall no_script;
    return run_call(shared_from_this(), slot, std::move(command), std::move(no_script));
}

Task<Result> Cluster::eval(const Script& script, const Arguments& keys, const Arguments& args) {
    std::string problem;
    const auto slot = common_slot(keys, problem);
    if (!problem.empty()) {
        static std::atomic<bool> logged{false};  // a bug in a caller: said once, not per call
        if (!logged.exchange(true)) spdlog::error("redis cluster: {}", problem);
        return fail_now(Error{Error::Kind::protocol, problem});
    }
    std::string no_command;  // the script's call is made by exchange_script
    return run_call(shared_from_this(), slot, std::move(no_command), script_call(script, keys, args));
}

Task<Result> Cluster::command_on(std::size_t master, std::vector<std::string> args) {
    if (master >= masters_.size() || !masters_[master]->ready())
        return fail_now(Error{Error::Kind::not_connected,
                              "not connected to redis cluster master " + std::to_string(master)});
    return detail::run_command(masters_[master], std::move(args));
}

}  // namespace llmgw::redis::detail
