// Redis Cluster: the slot map, one Connection per master, and calls routed by their key's slot
// that follow MOVED and ASK within their time bound.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::redis::detail {

// The slot map as a node tells it: the masters, and for each slot the index of its master
// (-1: no master serves it).
struct SlotMap {
    std::vector<Client::Address> masters;
    std::vector<std::int16_t> owner = std::vector<std::int16_t>(cluster_slots, -1);
};

// CLUSTER SHARDS' reply (Redis 7), or CLUSTER SLOTS'; nullopt for any other shape. A node
// without an address of its own (endpoint "?" or empty) is at `asked_host`. With `tls`, a
// shard's node is reached on its tls-port when it names one.
std::optional<SlotMap> parse_shards(const Reply& reply, const std::string& asked_host, bool tls);
std::optional<SlotMap> parse_slots(const Reply& reply, const std::string& asked_host);

// A MOVED or ASK error: where the slot is served now.
struct Redirect {
    bool ask = false;  // ASK: for this call only; MOVED: for good
    std::uint16_t slot = 0;
    std::string host;  // empty: the host of the node that answered
    std::uint16_t port = 0;
};
std::optional<Redirect> redirect_of(const Result& result);

class Cluster : public std::enable_shared_from_this<Cluster> {
public:
    Cluster(Executor executor, Client::Options options);
    ~Cluster();

    // The Client whose hooks every master's connection calls (null once it is gone).
    void set_owner(Client* owner);
    const Client::Options& options() const { return options_; }

    void start();
    void stop();
    // A slot map was read and every master connected once; from then on while any is.
    bool ready() const;
    std::size_t masters() const { return masters_.size(); }

    Task<Result> command(std::vector<std::string> args);
    Task<Result> eval(const Script& script, const Arguments& keys, const Arguments& args);
    Task<Result> command_on(std::size_t master, std::vector<std::string> args);

    // Used by the calls (cluster_call.cpp).
    std::shared_ptr<Connection> for_slot(std::uint16_t slot) const;
    std::shared_ptr<Connection> any_master() const;
    // The connection a redirect names (opened when new); MOVED also changes the map and asks
    // for a fresh one. `from`: the connection that answered (its host when none is named).
    std::shared_ptr<Connection> follow(const Redirect& redirect, const Connection& from);
    // Reads the slot map again soon (at most one read per `pace`).
    void want_refresh();
    // The on_call hook, for a call that found no connection to send on.
    void finished_unsent(Clock::time_point start, const Result& result) const;

    static constexpr auto pace = std::chrono::milliseconds(100);
    static constexpr auto periodic = std::chrono::seconds(10);

private:
    Task<void> maintain(unsigned run);
    Task<std::optional<SlotMap>> fetch_map();
    Task<std::optional<SlotMap>> ask_connection(std::shared_ptr<Connection> connection);
    Task<std::optional<SlotMap>> ask_address(const Client::Address& address);
    std::optional<SlotMap> read_map(const Result& shards, const Result& slots,
                                    const std::string& host) const;
    void apply(const SlotMap& map);
    std::shared_ptr<Connection> connection_to(const std::string& host, std::uint16_t port);
    bool complete() const;
    void master_ready();
    bool current(unsigned run) const { return running_ && run == run_; }

    Executor executor_;
    Client::Options options_;
    Client* owner_ = nullptr;
    Timer pace_timer_, wake_timer_;
    bool running_ = false;
    unsigned run_ = 0;
    bool refresh_wanted_ = false;
    bool waiting_ = false;  // the maintain loop waits on wake_timer_
    bool mapped_ = false;   // a slot map was read
    bool was_complete_ = false;  // every master was connected once (see ready())
    // Every connection held, by "host:port": the masters', and a redirect's target until the
    // next map says whether it is a master.
    std::map<std::string, std::shared_ptr<Connection>> connections_;
    std::vector<std::shared_ptr<Connection>> masters_;  // the map's masters, in its order
    std::vector<Connection*> slots_;                    // each slot's master; owned above
};

}  // namespace llmgw::redis::detail
