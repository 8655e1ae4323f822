// The Client's one connection: connect (after asking the sentinels, with Sentinel), AUTH/SELECT,
// reconnect with backoff, and pipelined calls that each wait on their own deadline timer.
#pragma once

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "llmgw/redis/client.hpp"
#include "reply_bounds.hpp"
#include "stream.hpp"

namespace llmgw::redis::detail {

using Clock = std::chrono::steady_clock;

// One command in flight: the reader and the waiting coroutine meet here. `wake` is the call's
// deadline and its wake-up at once: the reader stores the result and cancels it. A caller that
// gave up sets `abandoned`, so a late reply is dropped; the connection's queue keeps the Call
// until its reply comes, whatever the caller did.
struct Call {
    explicit Call(const Executor& executor) : wake(executor) {}
    Timer wake;
    std::optional<Result> result;
    bool abandoned = false;
    // Run by the reader the moment the reply arrives, before anyone waiting resumes: the
    // handshake's checks, which must act before the next reply is read. Empty for calls.
    std::function<void(const Result&)> inspect;

    void complete(Result r) {
        if (abandoned || result) return;
        result = std::move(r);
        wake.cancel();
    }
};

// The server lost the script (restart, SCRIPT FLUSH): EVALSHA answered NOSCRIPT.
inline bool is_noscript(const Result& result) {
    return !result && result.error().kind == Error::Kind::server_error &&
           result.error().message.rfind("NOSCRIPT", 0) == 0;
}

// Waits for the call's result or its deadline (then: timeout, and the call is abandoned).
Task<Result> wait_for(std::shared_ptr<Call> call);

// An owned copy of a hiredis reply; a top-level error reply is an Error (server_error).
Result to_result(const redisReply& reply);

// Sends `commands` on a connection of its own and returns their replies, all within `timeout`
// (asking a sentinel); nullopt with `failure` set when the exchange did not complete
// (`tls_failed` too when the TLS handshake failed).
Task<std::optional<std::vector<Result>>> request_once(
    Executor executor, const Client::Tls* tls, Client::Address server,
    std::vector<std::vector<std::string>> commands, std::chrono::milliseconds timeout,
    std::string& failure, bool& tls_failed);

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Executor executor, Client::Options options);
    ~Connection();

    Client* owner = nullptr;  // for the hooks; cleared when the Client goes
    // The server refused FCALL or FUNCTION LOAD (Redis 6, a command renamed away, an ACL):
    // scripts go by EVALSHA. Each new connection tries functions again (exchange_script).
    bool functions_refused = false;
    // A Cluster's master: called when ready instead of the owner's on_connected (the Cluster
    // tells the owner once its masters are connected).
    std::function<void()> on_ready;

    const Client::Options& options() const { return options_; }
    const Executor& executor() const { return executor_; }
    bool ready() const { return ready_; }

    void start();
    void stop();

    // Queues `args`; the returned call holds its result once it has one.
    std::shared_ptr<Call> send(const std::vector<std::string>& args, Clock::time_point deadline);
    // The same for a command already in RESP (evalsha_command).
    std::shared_ptr<Call> send_encoded(std::string_view command, Clock::time_point deadline);
    // Every public call ends here: the on_call hook, and the check for a broken connection.
    void finished(Clock::time_point start, const Result& result);

    // Runs connections until stop() (or a newer start()); one at a time.
    Task<void> run(unsigned run);

private:
    // One connection's own state: its stream, what waits to be written, its reply parser.
    struct Link {
        Link(const Executor& executor, const Client::Tls* tls)
            : stream(executor, tls),
              reader(redisReaderCreate(), &redisReaderFree),
              write_wake(executor) {}
        Stream stream;
        std::string out, sending;  // queued; being written
        bool writing = false;
        std::unique_ptr<redisReader, void (*)(redisReader*)> reader;
        std::array<char, 16384> buffer;
        Timer write_wake;  // cancelled when `out` gets bytes
        bool write_waiting = false;
        bool was_ready = false;
        std::string ping_token;  // the handshake's PING argument, echoed by the server
    };

    Task<std::string> session(unsigned run);
    Task<std::string> open_link(std::shared_ptr<Link> link);
    Task<std::optional<Client::Address>> locate(std::string& failure);
    Task<std::string> read_replies(std::shared_ptr<Link> link);
    void handshake(const std::shared_ptr<Link>& link, const Client::Address& server);
    void deliver(redisReply* reply);
    std::shared_ptr<Call> queue(const std::vector<std::string>& args, Clock::time_point deadline);
    // A call for the command just appended to the link's `out`.
    std::shared_ptr<Call> queued(Clock::time_point deadline);
    // A call that fails at once: not connected, or nothing to send.
    std::shared_ptr<Call> unsent();
    void drop_if_broken(Clock::time_point now);
    void drop(const std::string& reason, Error::Kind kind = Error::Kind::disconnected);
    void became_ready();
    void log_failure(const std::string& reason, bool was_ready);
    std::chrono::milliseconds next_backoff();
    bool current(unsigned run) const { return running_ && run == run_; }

    Task<void> write_loop(std::shared_ptr<Link> link);
    std::string handshake_problem(const std::string& label, const Result& result,
                                  const std::string& ping_token) const;
    std::string name() const;

    Executor executor_;
    Client::Options options_;
    ReplyBounds bounds_;  // counts the replies of the current connection
    Timer retry_timer_;
    Timer connect_timer_;
    std::minstd_rand random_;

    std::shared_ptr<Link> link_;                 // the current connection, connected or not
    std::deque<std::shared_ptr<Call>> pending_;  // sent on link_, in order, not yet answered
    bool running_ = false;                       // between start() and stop()
    bool ready_ = false;                         // connected, handshake done
    unsigned run_ = 0;                           // which run() is the live one
    int attempt_ = 0;                            // failed connects since the last success
    unsigned handshakes_ = 0;                    // numbers the PING tokens
    std::string close_reason_;
    std::string last_failure_;       // logged: one warning per kind of failure, not one per retry
    std::string server_;             // host:port of the current connection, for logs
    Clock::time_point progress_at_;  // last reply, or the send that ended an idle period
};

// One command on `connection`, bounded by its timeout and counted in its on_call.
Task<Result> run_command(std::shared_ptr<Connection> connection, std::vector<std::string> args);

// One script call on `connection`, ASKING before each command when `asking` (a Cluster's
// redirect): FCALL when the script has a function form and the server takes functions, else
// EVALSHA. What the server lacks (a restart, FUNCTION FLUSH, SCRIPT FLUSH) is loaded and the
// call sent once more, all before `deadline`. `call` must outlive it; finished() is the
// caller's.
Task<Result> exchange_script(std::shared_ptr<Connection> connection, const ScriptCall& call,
                             Clock::time_point deadline, bool asking);

}  // namespace llmgw::redis::detail
