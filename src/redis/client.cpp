// The Client's calls: one command, or a script's (script_call.cpp), each bounded by the call's
// timeout (the connection itself is connection.cpp's).
#include "llmgw/redis/client.hpp"

#include "cluster.hpp"
#include "connection.hpp"

namespace llmgw::redis {
namespace {

using detail::Clock;
using detail::Connection;
using detail::ScriptCall;
using detail::run_command;
using detail::wait_for;

Task<Result> run_eval(std::shared_ptr<Connection> connection, ScriptCall call) {
    const auto start = Clock::now();
    const auto deadline = start + connection->options().timeout;
    Result result = co_await detail::exchange_script(connection, call, deadline, false);
    connection->finished(start, result);
    co_return result;
}

}  // namespace

Client::Client(Executor executor, Options options) {
    if (options.cluster) {
        cluster_ = std::make_shared<detail::Cluster>(std::move(executor), std::move(options));
        cluster_->set_owner(this);
        return;
    }
    connection_ = std::make_shared<Connection>(std::move(executor), std::move(options));
    connection_->owner = this;
}

Client::~Client() {
    if (cluster_) {
        cluster_->set_owner(nullptr);
        cluster_->stop();
        return;
    }
    connection_->owner = nullptr;
    connection_->stop();
}

void Client::start() {
    if (cluster_)
        cluster_->start();
    else
        connection_->start();
}

void Client::stop() {
    if (cluster_)
        cluster_->stop();
    else
        connection_->stop();
}

bool Client::connected() const {
    return cluster_ ? cluster_->ready() : connection_->ready();
}

Task<Result> Client::command(std::vector<std::string> args) {
    if (cluster_) return cluster_->command(std::move(args));
    return run_command(connection_, std::move(args));
}

Task<Result> Client::eval(const Script& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) {
    Arguments key_arguments, arguments;
    for (const auto& key : keys) key_arguments.add(key);
    for (const auto& arg : args) arguments.add(arg);
    return eval(script, key_arguments, arguments);
}

Task<Result> Client::eval(const Script& script, const Arguments& keys, const Arguments& args) {
    if (cluster_) return cluster_->eval(script, keys, args);
    return run_eval(connection_, detail::script_call(script, keys, args));
}

std::size_t Client::masters() const {
    return cluster_ ? cluster_->masters() : 1;
}

Task<Result> Client::command_on(std::size_t master, std::vector<std::string> args) {
    if (cluster_) return cluster_->command_on(master, std::move(args));
    return run_command(connection_, std::move(args));
}

}  // namespace llmgw::redis
