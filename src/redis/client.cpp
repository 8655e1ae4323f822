// The Client's calls: one command, or EVALSHA with a SCRIPT LOAD when Redis lost the script,
// each bounded by the call's timeout (the connection itself is connection.cpp's).
#include "llmgw/redis/client.hpp"

#include <iterator>

#include "cluster.hpp"
#include "connection.hpp"

namespace llmgw::redis {
namespace {

using detail::Clock;
using detail::Connection;
using detail::is_noscript;
using detail::run_command;
using detail::wait_for;

Task<Result> run_eval(std::shared_ptr<Connection> connection, const Script& script,
                      std::vector<std::string> keys, std::vector<std::string> args) {
    const auto start = Clock::now();
    const auto deadline = start + connection->options().timeout;
    std::vector<std::string> evalsha{"EVALSHA", script.sha1(), std::to_string(keys.size())};
    evalsha.reserve(evalsha.size() + keys.size() + args.size());
    std::move(keys.begin(), keys.end(), std::back_inserter(evalsha));
    std::move(args.begin(), args.end(), std::back_inserter(evalsha));

    Result result = co_await wait_for(connection->send(evalsha, deadline));
    if (is_noscript(result)) {
        // The server lost its script cache (restart, SCRIPT FLUSH): load and retry in one
        // round trip, still within the first call's deadline.
        const std::vector<std::string> script_load{"SCRIPT", "LOAD", script.source()};
        auto load = connection->send(script_load, deadline);
        auto retry = connection->send(evalsha, deadline);
        Result loaded = co_await wait_for(std::move(load));
        Result retried = co_await wait_for(std::move(retry));
        result = loaded ? std::move(retried) : std::move(loaded);
    }
    connection->finished(start, result);
    co_return result;
}

}  // namespace

Client::Client(boost::asio::any_io_executor executor, Options options) {
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

Task<Result> Client::eval(const Script& script, std::vector<std::string> keys,
                          std::vector<std::string> args) {
    if (cluster_) return cluster_->eval(script, std::move(keys), std::move(args));
    return run_eval(connection_, script, std::move(keys), std::move(args));
}

std::size_t Client::masters() const {
    return cluster_ ? cluster_->masters() : 1;
}

Task<Result> Client::command_on(std::size_t master, std::vector<std::string> args) {
    if (cluster_) return cluster_->command_on(master, std::move(args));
    return run_command(connection_, std::move(args));
}

}  // namespace llmgw::redis
