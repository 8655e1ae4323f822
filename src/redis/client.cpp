// The Client's one connection: connect, AUTH/SELECT, reconnect with backoff, and pipelined
// calls that each wait on their own deadline timer.
#include "llmgw/redis/client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iterator>
#include <optional>
#include <random>
#include <string_view>

#include "llmgw/redis/hiredis_asio.hpp"
#include "reply_bounds.hpp"

namespace llmgw::redis {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One command in flight: the hiredis reply callback and the waiting coroutine meet here.
// `wake` is the call's deadline and its wake-up at once: the callback stores the result and
// cancels it. A caller that gave up sets `abandoned`, so a late reply is dropped; hiredis
// keeps the Call alive (held_by_hiredis) until it calls back, whatever the caller did.
struct Call {
    explicit Call(const asio::any_io_executor& executor) : wake(executor) {}
    asio::steady_timer wake;
    std::optional<Result> result;
    bool abandoned = false;
    std::shared_ptr<Call> held_by_hiredis;
};

Reply copy_reply(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::string;
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::status;
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::error;
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::array;
            break;
        default:
            out.type = Reply::Type::nil;
            break;
    }
    if (out.type == Reply::Type::integer) out.integer = r.integer;
    if (r.str != nullptr) out.str.assign(r.str, r.len);
    if (out.type == Reply::Type::array) {
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i)
            out.elements.push_back(copy_reply(*r.element[i]));
    }
    return out;
}

Result to_result(const redisReply& r) {
    if (r.type == REDIS_REPLY_ERROR)
        return Error{Error::Kind::server_error, std::string(r.str, r.len)};
    return copy_reply(r);
}

Task<Result> wait_for(std::shared_ptr<Call> call) {
    if (!call->result) co_await call->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (call->result) {
        Result result = std::move(*call->result);
        co_return result;
    }
    call->abandoned = true;
    co_return Error{Error::Kind::timeout, "no reply from redis in time"};
}

bool is_noscript(const Result& result) {
    return !result && result.error().kind == Error::Kind::server_error &&
           result.error().message.rfind("NOSCRIPT", 0) == 0;
}

const char kAuth[] = "AUTH";
const char kSelect[] = "SELECT";
const char kPing[] = "PING";

}  // namespace

namespace detail {

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::any_io_executor executor, Client::Options options)
        : executor_(std::move(executor)),
          options_(std::move(options)),
          bounds_(options_.max_reply_bytes, options_.max_reply_elements),
          retry_timer_(executor_),
          connect_timer_(executor_),
          resolver_(executor_),
          random_(std::random_device{}()) {
        options_.reconnect_min = std::max(options_.reconnect_min, milliseconds(1));
        options_.reconnect_max = std::max(options_.reconnect_max, options_.reconnect_min);
    }

    ~Connection() {
        running_ = false;
        if (context_) drop("client destroyed");
    }

    Client* owner = nullptr;  // for the on_call hook; cleared when the Client goes

    const Client::Options& options() const { return options_; }
    bool ready() const { return ready_; }

    void start() {
        if (running_) return;
        running_ = true;
        attempt_ = 0;
        failures_logged_ = false;
        connect();
    }

    void stop() {
        running_ = false;
        ++generation_;  // orphans the pending timer and resolver handlers
        retry_timer_.cancel();
        connect_timer_.cancel();
        resolver_.cancel();
        if (context_) drop("client stopped");
    }

    // Queues `args` on the connection; the returned call holds its result once it has one.
    std::shared_ptr<Call> send(const std::vector<std::string>& args, Clock::time_point deadline) {
        auto call = std::make_shared<Call>(executor_);
        if (!ready_) {
            call->result = Error{Error::Kind::not_connected, "not connected to redis"};
            return call;
        }
        if (args.empty()) {
            call->result = Error{Error::Kind::protocol, "empty command"};
            return call;
        }
        argv_.clear();
        lengths_.clear();
        for (const auto& arg : args) {
            argv_.push_back(arg.data());
            lengths_.push_back(arg.size());
        }
        call->wake.expires_at(deadline);
        call->held_by_hiredis = call;
        if (redisAsyncCommandArgv(context_, &Connection::on_reply, call.get(),
                                  static_cast<int>(argv_.size()), argv_.data(),
                                  lengths_.data()) != REDIS_OK) {
            call->held_by_hiredis.reset();
            call->result = Error{Error::Kind::not_connected, "redis connection is closing"};
            return call;
        }
        if (outstanding_++ == 0) progress_at_ = Clock::now();
        return call;
    }

    // Every public call ends here: the on_call hook, and the check for a broken connection.
    void finished(Clock::time_point start, const Result& result) {
        const auto now = Clock::now();
        if (!result && result.error().kind == Error::Kind::timeout && ready_) drop_if_broken(now);
        if (owner && owner->on_call) owner->on_call(now - start, result.has_value());
    }

private:
    // A call timed out. Calls time out one by one on a slow server, but two signs say the
    // connection itself is broken, and every later call on it would time out too:
    // - A reply has begun to arrive and is still incomplete. Redis writes each reply whole, so
    //   on a working link its last byte follows its first within far less than a call's
    //   timeout; a reply stalled mid-way (a trickling peer, a link that stalls) holds up every
    //   call pipelined behind it. Replace the connection at once.
    // - Nothing at all was answered for connect_timeout while calls wait: the server hangs.
    void drop_if_broken(Clock::time_point now) {
        if (context_ && ReplyBounds::reply_in_progress(*context_->c.reader))
            drop("a reply was still arriving when a call timed out");
        else if (outstanding_ > 0 && now - progress_at_ >= options_.connect_timeout)
            drop("no reply for " + std::to_string(options_.connect_timeout.count()) + " ms");
    }

    // After every read: a reply still arriving may not grow past max_reply_bytes.
    void after_read(const redisAsyncContext* context) {
        if (context == context_ && !bounds_.check_buffer(*context->c.reader))
            drop(bounds_.exceeded());
    }

    void connect() {
        const auto generation = ++generation_;
        connect_timer_.expires_after(options_.connect_timeout);
        connect_timer_.async_wait(
            [weak = weak_from_this(), generation](boost::system::error_code ec) {
                auto self = weak.lock();
                if (ec || !self || generation != self->generation_ || self->ready_) return;
                self->drop("connect timed out after " +
                           std::to_string(self->options_.connect_timeout.count()) + " ms");
            });
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(options_.host, ec);
        if (!ec) {
            open(address.to_string());
            return;
        }
        // hiredis would resolve with a blocking getaddrinfo: resolve on Asio's resolver thread.
        resolver_.async_resolve(
            options_.host, std::to_string(options_.port),
            [weak = weak_from_this(), generation](boost::system::error_code ec,
                                                  asio::ip::tcp::resolver::results_type results) {
                auto self = weak.lock();
                if (!self || generation != self->generation_) return;
                if (ec || results.empty()) {
                    self->lost("cannot resolve " + self->options_.host + ": " + ec.message());
                    return;
                }
                self->open(results.begin()->endpoint().address().to_string());
            });
    }

    void open(const std::string& address) {
        redisAsyncContext* context = redisAsyncConnect(address.c_str(), options_.port);
        if (context == nullptr || context->err) {
            std::string reason = context ? context->errstr : "out of memory";
            if (context) redisAsyncFree(context);
            lost("connect failed: " + reason);
            return;
        }
        context->data = this;
        bounds_.attach(*context);
        close_reason_.clear();
        try {
            attach_to_asio(context, executor_, [this, context] { after_read(context); });
        } catch (const std::exception& e) {  // the reactor refused the descriptor
            redisAsyncFree(context);
            lost(std::string("cannot watch the socket: ") + e.what());
            return;
        }
        redisAsyncSetDisconnectCallback(context, &Connection::on_disconnect);
        redisAsyncSetConnectCallback(context, &Connection::on_connect);  // waits for writable
        context_ = context;
    }

    // Pipelined AUTH, SELECT and PING: the PING's answer means the connection is usable. The
    // PING carries a token the server echoes: a reply it sent unasked (before the handshake)
    // would shift every answer by one, and then PING gets something else.
    void handshake() {
        auto step = [this](const char* label, std::vector<std::string> args) {
            std::vector<const char*> argv;
            std::vector<std::size_t> lengths;
            for (const auto& arg : args) {
                argv.push_back(arg.data());
                lengths.push_back(arg.size());
            }
            redisAsyncCommandArgv(context_, &Connection::on_handshake_reply,
                                  const_cast<char*>(label), static_cast<int>(argv.size()),
                                  argv.data(), lengths.data());
        };
        if (!options_.password.empty()) {
            if (options_.username.empty())
                step(kAuth, {"AUTH", options_.password});
            else
                step(kAuth, {"AUTH", options_.username, options_.password});
        }
        if (options_.db != 0) step(kSelect, {"SELECT", std::to_string(options_.db)});
        ping_token_ = "llmgw handshake " + std::to_string(generation_);
        step(kPing, {"PING", ping_token_});
    }

    void became_ready() {
        ready_ = true;
        attempt_ = 0;
        failures_logged_ = false;
        outstanding_ = 0;
        connect_timer_.cancel();
        spdlog::info("redis {}:{} connected", options_.host, options_.port);
        if (owner && owner->on_connected) owner->on_connected();
    }

    // Closes the connection ourselves. Outside hiredis callbacks redisAsyncFree runs at once
    // (pending callbacks get a null reply: `disconnected`); inside one, hiredis defers it.
    void drop(const std::string& reason) {
        if (redisAsyncContext* context = context_) {
            context_ = nullptr;  // our hiredis callbacks ignore a context that is not context_
            close_reason_ = reason;
            redisAsyncFree(context);
        }
        lost(reason);
    }

    // The connection is gone (or never came): retry after a backoff while running.
    void lost(const std::string& reason) {
        const bool was_ready = ready_;
        ready_ = false;
        outstanding_ = 0;
        connect_timer_.cancel();
        resolver_.cancel();
        if (!running_) return;
        if (was_ready) {
            spdlog::warn("redis {}:{}: connection lost ({}); reconnecting", options_.host,
                         options_.port, reason);
        } else if (!failures_logged_) {
            spdlog::warn("redis {}:{}: {}; retrying", options_.host, options_.port, reason);
            failures_logged_ = true;
        }
        const auto generation = ++generation_;
        retry_timer_.expires_after(next_backoff());
        retry_timer_.async_wait(
            [weak = weak_from_this(), generation](boost::system::error_code ec) {
                auto self = weak.lock();
                if (!ec && self && generation == self->generation_ && self->running_)
                    self->connect();
            });
    }

    // Exponential growth from reconnect_min to reconnect_max, then a random point in the
    // upper half, so workers that lost Redis together do not reconnect in lockstep.
    milliseconds next_backoff() {
        auto ceiling = options_.reconnect_min;
        for (int i = 0; i < attempt_ && ceiling < options_.reconnect_max; ++i) ceiling *= 2;
        ceiling = std::min(ceiling, options_.reconnect_max);
        if (attempt_ < 32) ++attempt_;
        const auto floor = std::max(options_.reconnect_min, ceiling / 2);
        std::uniform_int_distribution<long long> pick(floor.count(), ceiling.count());
        return milliseconds(pick(random_));
    }

    static Connection* of(const redisAsyncContext* context) {
        return static_cast<Connection*>(context->data);
    }

    static void on_connect(const redisAsyncContext* context, int status) {
        Connection* self = of(context);
        if (context != self->context_) return;
        if (status != REDIS_OK) {
            self->context_ = nullptr;  // hiredis frees it after this returns
            self->lost(std::string("connect failed: ") +
                       (context->errstr ? context->errstr : "unknown error"));
            return;
        }
        self->handshake();
    }

    static void on_disconnect(const redisAsyncContext* context, int /*status*/) {
        Connection* self = of(context);
        if (context != self->context_) return;
        self->context_ = nullptr;  // hiredis frees it after this returns
        self->lost(self->failure_of(*context));
    }

    static void on_handshake_reply(redisAsyncContext* context, void* reply, void* label) {
        Connection* self = of(context);
        if (reply == nullptr || context != self->context_) return;  // being torn down
        const auto& r = *static_cast<redisReply*>(reply);
        const std::string_view text = r.str != nullptr ? std::string_view(r.str, r.len) : "";
        if (r.type == REDIS_REPLY_ERROR) {
            self->drop(std::string(static_cast<const char*>(label)) +
                       " failed: " + std::string(text));
        } else if (static_cast<const char*>(label) != kPing) {
            return;
        } else if (r.type == REDIS_REPLY_STRING && text == self->ping_token_) {
            self->became_ready();
        } else {
            self->drop(
                "PING answered without its token: the server's replies are out of step "
                "with the commands (it sent a reply nobody asked for)");
        }
    }

    static void on_reply(redisAsyncContext* context, void* reply, void* data) {
        std::shared_ptr<Call> call = std::move(static_cast<Call*>(data)->held_by_hiredis);
        Connection* self = of(context);
        if (context == self->context_) {
            --self->outstanding_;
            self->progress_at_ = Clock::now();
        }
        if (call->abandoned) return;
        if (reply != nullptr) {
            call->result = to_result(*static_cast<redisReply*>(reply));
        } else if (!self->bounds_.exceeded().empty()) {
            call->result = Error{Error::Kind::protocol, self->bounds_.exceeded()};
        } else if (context->err == REDIS_ERR_PROTOCOL) {
            call->result = Error{Error::Kind::protocol, context->errstr};
        } else {
            call->result = Error{Error::Kind::disconnected,
                                 "redis connection lost: " + self->failure_of(*context)};
        }
        call->wake.cancel();
    }

    // Why a connection ended. A reply refused for a bound shows in hiredis as "out of memory":
    // name the bound instead.
    std::string failure_of(const redisAsyncContext& context) const {
        if (!bounds_.exceeded().empty()) return bounds_.exceeded();
        if (context.err) return context.errstr;
        return close_reason_.empty() ? "closed" : close_reason_;
    }

    asio::any_io_executor executor_;
    Client::Options options_;
    detail::ReplyBounds bounds_;  // counts the replies of the current connection
    asio::steady_timer retry_timer_;
    asio::steady_timer connect_timer_;
    asio::ip::tcp::resolver resolver_;
    std::minstd_rand random_;

    redisAsyncContext* context_ = nullptr;  // the current connection, connected or not
    bool running_ = false;                  // between start() and stop()
    bool ready_ = false;                    // connected, AUTH and SELECT done
    bool failures_logged_ = false;          // one warning per outage, not one per retry
    int attempt_ = 0;                       // failed connects since the last success
    unsigned generation_ = 0;               // bumps orphan the pending timer/resolver handlers
    std::string close_reason_;
    std::string ping_token_;         // the handshake's PING argument, echoed by the server
    long outstanding_ = 0;           // calls sent on this connection and not yet answered
    Clock::time_point progress_at_;  // last reply, or the send that ended an idle period
    std::vector<const char*> argv_;  // reused by send(): no allocation per call once warm
    std::vector<std::size_t> lengths_;
};

}  // namespace detail

namespace {

Task<Result> run_command(std::shared_ptr<detail::Connection> connection,
                         std::vector<std::string> args) {
    const auto start = Clock::now();
    Result result =
        co_await wait_for(connection->send(args, start + connection->options().timeout));
    connection->finished(start, result);
    co_return result;
}

Task<Result> run_eval(std::shared_ptr<detail::Connection> connection, const Script& script,
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

Client::Client(boost::asio::any_io_executor executor, Options options)
    : connection_(std::make_shared<detail::Connection>(std::move(executor), std::move(options))) {
    connection_->owner = this;
}

Client::~Client() {
    connection_->owner = nullptr;
    connection_->stop();
}

void Client::start() {
    connection_->start();
}

void Client::stop() {
    connection_->stop();
}

bool Client::connected() const {
    return connection_->ready();
}

Task<Result> Client::command(std::vector<std::string> args) {
    return run_command(connection_, std::move(args));
}

Task<Result> Client::eval(const Script& script, std::vector<std::string> keys,
                          std::vector<std::string> args) {
    return run_eval(connection_, script, std::move(keys), std::move(args));
}

}  // namespace llmgw::redis
