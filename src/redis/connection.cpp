// One connection at a time to the server (or to the master the sentinels name): hiredis only
// parses replies; Asio does the I/O, over TCP or TLS alike.
#include "connection.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llmgw::redis::detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(use_awaitable);

namespace {

Task<void> run_connection(std::shared_ptr<Connection> self, unsigned run) {
    co_await self->run(run);
}

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace

Task<Result> wait_for(std::shared_ptr<Call> call) {
    if (!call->result) co_await call->wake.async_wait(use_tuple);
    if (call->result) {
        Result result = std::move(*call->result);
        co_return result;
    }
    call->abandoned = true;
    co_return Error{Error::Kind::timeout, "no reply from redis in time"};
}

Connection::Connection(Executor executor, Client::Options options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      bounds_(options_.max_reply_bytes, options_.max_reply_elements,
              [this] { return !pending_.empty(); }),
      retry_timer_(executor_),
      connect_timer_(executor_),
      random_(std::random_device{}()) {
    options_.reconnect_min = std::max(options_.reconnect_min, milliseconds(1));
    options_.reconnect_max = std::max(options_.reconnect_max, options_.reconnect_min);
    server_ = options_.sentinel_master.empty() ? options_.host + ":" + std::to_string(options_.port)
                                               : "not found yet";
}

Connection::~Connection() {
    running_ = false;
    drop("client destroyed");
}

void Connection::start() {
    if (running_) return;
    running_ = true;
    attempt_ = 0;
    last_failure_.clear();
    asio::co_spawn(executor_, run_connection(shared_from_this(), ++run_), asio::detached);
}

void Connection::stop() {
    running_ = false;
    ++run_;  // the live run() ends at its next step
    retry_timer_.cancel();
    connect_timer_.cancel();
    drop("client stopped");
}

std::shared_ptr<Call> Connection::unsent() {
    auto call = std::make_shared<Call>(executor_);
    call->result = ready_ ? Error{Error::Kind::protocol, "empty command"}
                          : Error{Error::Kind::not_connected, "not connected to redis"};
    return call;
}

std::shared_ptr<Call> Connection::send(const std::vector<std::string>& args,
                                       Clock::time_point deadline) {
    if (!ready_ || args.empty()) return unsent();
    return queue(args, deadline);
}

std::shared_ptr<Call> Connection::send_encoded(std::string_view command,
                                               Clock::time_point deadline) {
    if (!ready_ || command.empty()) return unsent();
    link_->out += command;
    return queued(deadline);
}

void Connection::finished(Clock::time_point start, const Result& result) {
    const auto now = Clock::now();
    if (!result && result.error().kind == Error::Kind::timeout && ready_) drop_if_broken(now);
    if (owner && owner->on_call) owner->on_call(now - start, result.has_value());
}

// A call timed out. Calls time out one by one on a slow server, but two signs say the
// connection itself is broken, and every later call on it would time out too:
// - A reply has begun to arrive and is still incomplete. Redis writes each reply whole, so on a
//   working link its last byte follows its first within far less than a call's timeout; a reply
//   stalled mid-way (a trickling peer, a link that stalls) holds up every call pipelined behind
//   it. Replace the connection at once.
// - Nothing at all was answered for connect_timeout while calls wait: the server hangs.
void Connection::drop_if_broken(Clock::time_point now) {
    if (link_ && ReplyBounds::reply_in_progress(*link_->reader))
        drop("a reply was still arriving when a call timed out");
    else if (!pending_.empty() && now - progress_at_ >= options_.connect_timeout)
        drop("no reply for " + std::to_string(options_.connect_timeout.count()) + " ms");
}

Task<void> Connection::run(unsigned run) {
    while (current(run)) {
        co_await session(run);
        if (!current(run)) break;
        retry_timer_.expires_after(next_backoff());
        co_await retry_timer_.async_wait(use_tuple);
    }
}

// One connection from connect to loss; returns why it ended (logged here).
Task<std::string> Connection::session(unsigned run) {
    auto link = std::make_shared<Link>(executor_, options_.tls ? &*options_.tls : nullptr);
    link_ = link;
    close_reason_.clear();
    bounds_.attach(*link->reader);
    std::string reason = co_await open_link(link);
    if (reason.empty()) reason = co_await read_replies(link);
    if (link_ == link) drop(reason);
    if (current(run)) log_failure(reason, link->was_ready);
    co_return reason;
}

// Connects (to the master the sentinels name, with Sentinel) and queues the handshake; ""
// once the stream is open.
Task<std::string> Connection::open_link(std::shared_ptr<Link> link) {
    Client::Address server{options_.host, options_.port, options_.username, options_.password};
    if (!options_.sentinel_master.empty()) {
        std::string failure;
        auto found = co_await locate(failure);
        if (link_ != link) co_return close_reason_;
        if (!found) co_return failure;
        server.host = found->host;
        server.port = found->port;
        server_ = server.host + ":" + std::to_string(server.port);
    }
    // Each sentinel had connect_timeout of its own; the server gets it whole.
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([weak = weak_from_this(), link](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->link_ != link || self->ready_) return;
        self->drop("connect timed out after " +
                   std::to_string(self->options_.connect_timeout.count()) + " ms");
    });
    std::string failure = co_await link->stream.open(server.host, server.port);
    if (link_ != link) co_return close_reason_;
    if (!failure.empty()) {
        if (link->stream.tls_failed() && owner && owner->on_tls_failure) owner->on_tls_failure();
        co_return failure;
    }
    asio::co_spawn(
        executor_, [self = shared_from_this(), link] { return self->write_loop(link); },
        asio::detached);
    handshake(link, server);
    co_return "";
}

// Writes whatever calls queued, in one write per batch: calls queued while a write is on its way
// go together in the next.
Task<void> Connection::write_loop(std::shared_ptr<Link> link) {
    while (link_ == link) {
        if (link->out.empty()) {
            link->write_wake.expires_at(Clock::time_point::max());
            link->write_waiting = true;
            co_await link->write_wake.async_wait(use_tuple);
            link->write_waiting = false;
            continue;
        }
        std::swap(link->out, link->sending);
        const auto ec = co_await link->stream.write(asio::buffer(link->sending));
        link->sending.clear();
        if (ec) {
            if (link_ == link) drop("write failed: " + ec.message());
            co_return;
        }
    }
}

std::shared_ptr<Call> Connection::queue(const std::vector<std::string>& args,
                                        Clock::time_point deadline) {
    append_command(link_->out, args);
    return queued(deadline);
}

std::shared_ptr<Call> Connection::queued(Clock::time_point deadline) {
    auto call = std::make_shared<Call>(executor_);
    call->wake.expires_at(deadline);
    if (pending_.empty()) progress_at_ = Clock::now();
    pending_.push_back(call);
    if (link_->write_waiting) link_->write_wake.cancel();
    return call;
}

// Pipelined AUTH, SELECT (ROLE with Sentinel) and PING: the PING's answer means the connection
// is usable. The PING carries a token the server echoes: a reply it sent unasked (before the
// handshake) would shift every answer by one, and then PING gets something else. Each answer is
// checked as it is read, so a bad one ends the connection before the next is looked at; the
// connect timer bounds the whole.
void Connection::handshake(const std::shared_ptr<Link>& link, const Client::Address& server) {
    const auto deadline = Clock::now() + options_.connect_timeout;
    link->ping_token = "llmgw handshake " + std::to_string(++handshakes_);
    auto step = [&](const std::string& label, const std::vector<std::string>& args) {
        queue(args, deadline)->inspect = [this, label, token = link->ping_token](const Result& r) {
            const std::string problem = handshake_problem(label, r, token);
            if (!problem.empty())
                drop(problem);
            else if (label == "PING")
                became_ready();
        };
    };
    if (!server.password.empty()) {
        if (server.username.empty())
            step("AUTH", {"AUTH", server.password});
        else
            step("AUTH", {"AUTH", server.username, server.password});
    }
    if (options_.db != 0) step("SELECT", {"SELECT", std::to_string(options_.db)});
    if (!options_.sentinel_master.empty()) step("ROLE", {"ROLE"});
    step("PING", {"PING", link->ping_token});
}

std::string Connection::handshake_problem(const std::string& label, const Result& result,
                                          const std::string& ping_token) const {
    if (!result) return label + " failed: " + result.error().message;
    if (label == "ROLE") {
        const auto& role = result->elements;
        if (result->is_array() && !role.empty() && role[0].str == "master") return "";
        return server_ + " is not the master (ROLE " + (role.empty() ? "?" : role[0].str) +
               "); asking the sentinels again";
    }
    if (label == "PING" && !(result->is_string() && result->str == ping_token))
        return "PING answered without its token: the server's replies are out of step with the "
               "commands (it sent a reply nobody asked for)";
    return "";
}

void Connection::became_ready() {
    ready_ = true;
    functions_refused = false;  // perhaps another server now (a failover, an upgrade)
    link_->was_ready = true;
    attempt_ = 0;
    last_failure_.clear();
    connect_timer_.cancel();
    spdlog::info("redis {} connected", name());
    if (on_ready)
        on_ready();
    else if (owner && owner->on_connected)
        owner->on_connected();
}

// Reads and hands out replies until the connection ends; returns why it ended.
Task<std::string> Connection::read_replies(std::shared_ptr<Link> link) {
    redisReader& reader = *link->reader;
    for (;;) {
        while (link_ == link) {
            void* reply = nullptr;
            if (redisReaderGetReply(&reader, &reply) != REDIS_OK) {
                // A reply refused for a bound shows in hiredis as "out of memory": name the bound.
                const std::string reason =
                    bounds_.exceeded().empty() ? std::string(reader.errstr) : bounds_.exceeded();
                drop(reason, Error::Kind::protocol);
                co_return reason;
            }
            if (reply == nullptr) break;
            deliver(static_cast<redisReply*>(reply));
        }
        if (link_ != link) co_return close_reason_;
        const auto [ec, n] = co_await link->stream.read_some(asio::buffer(link->buffer));
        if (link_ != link) co_return close_reason_;
        if (ec) {
            const std::string reason =
                ec == asio::error::eof ? "closed by the server" : ec.message();
            drop(reason);
            co_return reason;
        }
        redisReaderFeed(&reader, link->buffer.data(), n);
        if (!bounds_.check_buffer(reader)) {
            const std::string reason = bounds_.exceeded();
            drop(reason, Error::Kind::protocol);
            co_return reason;
        }
    }
}

// The reply answers the oldest call waiting. READONLY means the server became a replica (a
// failover): the connection is replaced, so that the sentinels, or the name's new address,
// lead to the new master.
void Connection::deliver(redisReply* reply) {
    std::unique_ptr<redisReply, void (*)(void*)> owned(reply, &freeReplyObject);
    if (pending_.empty()) {  // only an error reply comes unasked: the server's last word
        drop("redis said: " + std::string(reply->str ? reply->str : "", reply->len));
        return;
    }
    auto call = std::move(pending_.front());
    pending_.pop_front();
    progress_at_ = Clock::now();
    const bool readonly = reply->type == REDIS_REPLY_ERROR && reply->str != nullptr &&
                          starts_with(reply->str, "READONLY");
    if (call->inspect) {
        Result result = to_result(*reply);
        call->inspect(result);  // may end the connection, or make it ready
        call->complete(std::move(result));
        return;
    }
    if (!call->abandoned) call->complete(to_result(*reply));
    if (readonly) drop("the server is a replica now (READONLY); reconnecting to the master");
}

// Closes the connection ourselves: every call waiting gets an error (disconnected, or the
// protocol error that ended the connection).
void Connection::drop(const std::string& reason, Error::Kind kind) {
    ready_ = false;
    if (!link_) return;
    auto link = std::move(link_);
    link_.reset();
    close_reason_ = reason;
    link->stream.close();
    link->write_wake.cancel();
    auto calls = std::move(pending_);
    pending_.clear();
    const std::string message =
        kind == Error::Kind::disconnected ? "redis connection lost: " + reason : reason;
    for (auto& call : calls) call->complete(Error{kind, message});
}

void Connection::log_failure(const std::string& reason, bool was_ready) {
    if (was_ready)
        spdlog::warn("redis {}: connection lost ({}); reconnecting", name(), reason);
    else if (reason != last_failure_)
        spdlog::warn("redis {}: {}; retrying", name(), reason);
    last_failure_ = reason;
}

std::string Connection::name() const {
    if (options_.sentinel_master.empty()) return server_;
    return "master " + options_.sentinel_master + " (" + server_ + ")";
}

// Exponential growth from reconnect_min to reconnect_max, then a random point in the upper
// half, so workers that lost Redis together do not reconnect in lockstep.
milliseconds Connection::next_backoff() {
    auto ceiling = options_.reconnect_min;
    for (int i = 0; i < attempt_ && ceiling < options_.reconnect_max; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, options_.reconnect_max);
    if (attempt_ < 32) ++attempt_;
    const auto floor = std::max(options_.reconnect_min, ceiling / 2);
    std::uniform_int_distribution<long long> pick(floor.count(), ceiling.count());
    return milliseconds(pick(random_));
}

Task<Result> run_command(std::shared_ptr<Connection> connection, std::vector<std::string> args) {
    const auto start = Clock::now();
    Result result =
        co_await wait_for(connection->send(args, start + connection->options().timeout));
    connection->finished(start, result);
    co_return result;
}

}  // namespace llmgw::redis::detail
