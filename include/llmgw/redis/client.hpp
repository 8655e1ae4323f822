// An asynchronous Redis client for one worker's event loop: pipelined, time-bounded calls.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmgw/redis/arguments.hpp"
#include "llmgw/redis/reply.hpp"
#include "llmgw/redis/script.hpp"

struct ssl_st;
namespace boost::asio::ssl {
class context;
}

namespace llmgw::redis {

namespace detail {
class Connection;
class Cluster;
}

// Same types as http::Executor and http::Task, without pulling Beast in: a worker's io_context,
// named concretely (no type-erased executor copies per operation).
using Executor = boost::asio::io_context::executor_type;
template <typename T>
using Task = boost::asio::awaitable<T, Executor>;
// The completion token for awaiting an operation in a Task.
inline constexpr boost::asio::use_awaitable_t<Executor> use_awaitable{};
using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                boost::asio::wait_traits<std::chrono::steady_clock>,
                                                Executor>;

// One connection, owned by one worker: every member must be used from the executor's thread
// (no locks by design). Calls never block and never wait for a connection: while there is
// none they fail at once with not_connected, and a background loop reconnects.
// Destroy the Client before its io_context.
class Client {
public:
    // A server to connect to (a sentinel's own password, if it has one, is its own).
    struct Address {
        std::string host;
        uint16_t port = 6379;
        std::string username, password;
    };

    // TLS on every connection (rediss://): sentinels and the servers they name alike.
    struct Tls {
        // Trust anchors, verification, the client certificate: built from the config by the
        // tls component, so the redis component needs no config of its own.
        std::shared_ptr<boost::asio::ssl::context> context;
        // Per connection to `host`, before the handshake: SNI and the name the certificate
        // must carry. False: the name was refused (the connect fails).
        std::function<bool(ssl_st*, const std::string& host)> prepare;
        // A failed handshake in words: the certificate check's verdict when that failed.
        std::function<std::string(ssl_st*, const std::string& error)> describe_failure;
    };

    struct Options {
        std::string host;
        uint16_t port = 6379;
        std::string username, password;  // AUTH on every connect when the password is set
        int db = 0;                      // SELECT on every connect when not 0
        std::optional<Tls> tls;          // unset: plain TCP
        // Sentinel: before each connect, `sentinels` are asked in turn for the address of
        // the master named `sentinel_master` (host and port above are not used), and the
        // server found must say ROLE master. A connection that fails, or a reply READONLY
        // (the master became a replica), sends the client back to the sentinels.
        std::string sentinel_master;
        std::vector<Address> sentinels;
        // Redis Cluster: host and port above, then `cluster_seeds`, are asked for the slot map
        // (CLUSTER SHARDS, or CLUSTER SLOTS before Redis 7); each master gets a connection of
        // its own (TLS, AUTH alike), and a call goes to the master of its first key's slot,
        // following MOVED and ASK within its timeout. The map is read again after a redirect,
        // while a master is unreachable (a failover), and every 10 s. db must be 0.
        bool cluster = false;
        std::vector<Address> cluster_seeds;
        // Bound of every call, retries included. A call that times out while a reply is
        // half-arrived replaces the connection: the calls behind that reply would wait too.
        std::chrono::milliseconds timeout{50};
        // Bound of resolve + connect + TLS handshake + AUTH/SELECT (and of each sentinel's
        // answer). Also: a connection that answers nothing for this long while calls wait is
        // treated as dead and replaced.
        std::chrono::milliseconds connect_timeout{1000};
        std::chrono::milliseconds reconnect_min{100}, reconnect_max{5000};  // backoff bounds
        // Bounds of one reply, so that a misbehaving server costs bounded memory and time: a
        // reply over either fails the calls in flight (protocol error) and the connection is
        // replaced. Bytes: its string payloads together (a cached answer is one string).
        // Elements: what its array headers declare, nested ones included (limit scripts
        // answer a handful; a SCAN page about a thousand). Depth: hiredis allows 7 levels.
        std::size_t max_reply_bytes = 2u << 20;
        std::size_t max_reply_elements = 65536;
    };

    Client(Executor executor, Options options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Connects in the background; connected() turns true once AUTH and SELECT succeeded.
    void start();
    // Closes the connection and stops reconnecting. Calls in flight complete with
    // `disconnected`; later calls fail with not_connected. start() may be called again.
    void stop();
    bool connected() const;

    // Sends one command, e.g. {"INCR", "k"}; pipelines with other calls in flight. With
    // Cluster it goes to the master of args[1]'s slot (the key, for the commands the gateway
    // sends), or to any master when there is no args[1].
    Task<Result> command(std::vector<std::string> args);
    // FCALL of the script's function (Script::with_function) where the server takes Redis
    // Functions, and FUNCTION LOAD + FCALL once more when it lacks it; EVALSHA elsewhere (Redis
    // 6, FCALL renamed away or refused by an ACL: a connection that saw it refused sticks to
    // EVALSHA until it reconnects), and SCRIPT LOAD + EVALSHA once more on NOSCRIPT. All within
    // the same time bound. `script` must outlive the call. With Cluster every key must hash
    // to one slot (a hash tag does it): a call whose keys do not fails at once (protocol error
    // naming the slots); each master loads the function or script it lacks.
    Task<Result> eval(const Script& script, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args);
    // The same with arguments already in RESP (no string per argument); copied before it
    // returns.
    Task<Result> eval(const Script& script, const Arguments& keys, const Arguments& args);

    // Whether this is a Cluster client.
    bool cluster() const { return cluster_ != nullptr; }
    // The masters known now: 1 without Cluster; with it, those of the last slot map (0 before
    // one was read). For commands each master must run (SCAN): command_on(i, ...) sends to the
    // i-th, or is the same as command() without Cluster.
    std::size_t masters() const;
    Task<Result> command_on(std::size_t master, std::vector<std::string> args);

    // Called on the executor's thread each time a connection is ready (AUTH and SELECT done).
    std::function<void()> on_connected;
    // Called once per command()/eval() with its duration; ok is false for every Error.
    std::function<void(std::chrono::steady_clock::duration latency, bool ok)> on_call;
    // Called for each TLS handshake that failed (a certificate refused, most often).
    std::function<void()> on_tls_failure;

private:
    // Shared with the calls in flight, which may finish after the Client is gone.
    // Exactly one of the two is set: one connection, or one per master of a Cluster.
    std::shared_ptr<detail::Connection> connection_;
    std::shared_ptr<detail::Cluster> cluster_;
};

}  // namespace llmgw::redis
