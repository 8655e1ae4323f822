// A script call on one connection: FCALL of its Redis Function where the server takes them,
// EVALSHA elsewhere, loading whichever the server lacks.
#include <spdlog/spdlog.h>

#include "connection.hpp"

namespace llmgw::redis::detail {

namespace {

bool server_error_starting(const Result& result, std::string_view prefix) {
    return !result && result.error().kind == Error::Kind::server_error &&
           result.error().message.starts_with(prefix);
}

// FCALL of a function the server does not have (a restart without persistence, FUNCTION FLUSH,
// a new version of the code).
bool is_function_missing(const Result& result) {
    return server_error_starting(result, "ERR Function not found");
}

// An error reply other than a replica's READONLY (the connection is replaced for that one:
// Connection::deliver).
bool server_refusal(const Result& result) {
    return !result && result.error().kind == Error::Kind::server_error &&
           !result.error().message.starts_with("READONLY");
}

// FCALL's answer when the server does not take functions: no such command (Redis 6, renamed
// away), or not for us (an ACL).
bool refuses_functions(const Result& result) {
    if (!server_refusal(result)) return false;
    const auto& message = result.error().message;
    return message.find("unknown command") != std::string::npos ||
           message.find("unsupported command") != std::string::npos || message.starts_with("NOPERM");
}

const std::vector<std::string> asking_command{"ASKING"};

// Sends `first` (in RESP), ASKING before it when `asking`, then waits for its answer.
Task<Result> send_one(const std::shared_ptr<Connection>& connection, const std::string& first,
                      Clock::time_point deadline, bool asking) {
    if (asking) connection->send(asking_command, deadline);
    Result result = co_await wait_for(connection->send_encoded(first, deadline));
    co_return result;
}

// Sends `load`, then `retry` (in RESP) in the same round trip; the load's error, or the retry's
// answer. `load_failed` tells which.
Task<Result> load_and_retry(const std::shared_ptr<Connection>& connection,
                            const std::vector<std::string>& load, const std::string& retry,
                            Clock::time_point deadline, bool asking, bool& load_failed) {
    auto loading = connection->send(load, deadline);
    if (asking) connection->send(asking_command, deadline);
    auto retrying = connection->send_encoded(retry, deadline);
    Result loaded = co_await wait_for(std::move(loading));
    Result retried = co_await wait_for(std::move(retrying));
    load_failed = !loaded;
    if (load_failed) co_return loaded;
    co_return retried;
}

// FCALL, and FUNCTION LOAD when the server lacks the function. nullopt: the server refused
// functions (now marked on the connection); the call goes by EVALSHA.
Task<std::optional<Result>> by_function(const std::shared_ptr<Connection>& connection,
                                        const ScriptCall& call, Clock::time_point deadline,
                                        bool asking) {
    const Script& script = *call.script;
    const auto fcall = script_command("FCALL", script.function(), call);
    Result result = co_await send_one(connection, fcall, deadline, asking);
    bool load_failed = false;
    if (is_function_missing(result)) {
        const std::vector<std::string> load{"FUNCTION", "LOAD", "REPLACE", script.library()};
        result = co_await load_and_retry(connection, load, fcall, deadline, asking, load_failed);
    }
    // A server that has FCALL but will not load our library (an ACL, a managed service's
    // rules) is served by EVALSHA as well.
    if (load_failed ? !server_refusal(result) : !refuses_functions(result)) co_return result;
    connection->functions_refused = true;
    spdlog::info("redis: the server refused Redis Functions ({}); scripts go by EVALSHA on this connection",
                 result.error().message);
    co_return std::nullopt;
}

}  // namespace

Task<Result> exchange_script(std::shared_ptr<Connection> connection, const ScriptCall& call,
                             Clock::time_point deadline, bool asking) {
    const Script& script = *call.script;
    if (!script.function().empty() && !connection->functions_refused) {
        auto result = co_await by_function(connection, call, deadline, asking);
        if (result) co_return std::move(*result);
    }
    const auto evalsha = script_command("EVALSHA", script.sha1(), call);
    Result result = co_await send_one(connection, evalsha, deadline, asking);
    if (!is_noscript(result)) co_return result;
    // The server lost its script cache (restart, SCRIPT FLUSH): load and retry in one round
    // trip, still within the first call's deadline.
    const std::vector<std::string> load{"SCRIPT", "LOAD", script.source()};
    bool load_failed = false;
    result = co_await load_and_retry(connection, load, evalsha, deadline, asking, load_failed);
    co_return result;
}

}  // namespace llmgw::redis::detail
