// The Cluster's topology: reading the slot map, a connection per master, and reading the map
// again after a redirect, while a master is lost (a failover) and now and then.
#include "cluster.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llmgw::redis::detail {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(use_awaitable);

namespace {

Task<void> run_maintain(std::shared_ptr<Cluster> self, unsigned run,
                        Task<void> (Cluster::*loop)(unsigned)) {
    co_await ((*self).*loop)(run);
}

std::string name_of(const std::string& host, std::uint16_t port) {
    return host + ":" + std::to_string(port);
}

}  // namespace

Cluster::Cluster(Executor executor, Client::Options options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      pace_timer_(executor_),
      wake_timer_(executor_),
      slots_(cluster_slots, nullptr) {}

Cluster::~Cluster() {
    running_ = false;
    for (auto& [name, connection] : connections_) connection->stop();
}

void Cluster::set_owner(Client* owner) {
    owner_ = owner;
    for (auto& [name, connection] : connections_) connection->owner = owner;
}

void Cluster::start() {
    if (running_) return;
    running_ = true;
    for (auto& [name, connection] : connections_) connection->start();
    asio::co_spawn(executor_, run_maintain(shared_from_this(), ++run_, &Cluster::maintain),
                   asio::detached);
}

void Cluster::stop() {
    running_ = false;
    ++run_;
    pace_timer_.cancel();
    wake_timer_.cancel();
    for (auto& [name, connection] : connections_) connection->stop();
}

// Ready once every master of the map is connected; after that, while any one is (calls to a
// lost master's slots fail at once until the map names its successor).
bool Cluster::ready() const {
    if (!mapped_) return false;
    if (!was_complete_) return complete();
    for (const auto& master : masters_)
        if (master->ready()) return true;
    return false;
}

void Cluster::master_ready() {
    if (!was_complete_ && complete()) was_complete_ = true;
    if (ready() && owner_ && owner_->on_connected) owner_->on_connected();
}

bool Cluster::complete() const {
    if (!mapped_) return false;
    for (const auto& master : masters_)
        if (!master->ready()) return false;
    return true;
}

void Cluster::want_refresh() {
    refresh_wanted_ = true;
    if (waiting_) wake_timer_.cancel();
}

// Reads the map, then waits: at least `pace`, and `periodic` unless a refresh is wanted or a
// slot has no connected master (then it reads again after `pace`).
Task<void> Cluster::maintain(unsigned run) {
    while (current(run)) {
        refresh_wanted_ = false;
        auto map = co_await fetch_map();
        if (!current(run)) break;
        if (map) apply(*map);
        pace_timer_.expires_after(pace);
        co_await pace_timer_.async_wait(use_tuple);
        if (!current(run) || refresh_wanted_ || !complete()) continue;
        wake_timer_.expires_after(periodic);
        waiting_ = true;
        co_await wake_timer_.async_wait(use_tuple);
        waiting_ = false;
    }
}

// Asks a connected master first (no new connection), else each seed and known master in
// turn on a connection of its own.
Task<std::optional<SlotMap>> Cluster::fetch_map() {
    const auto masters = masters_;
    for (const auto& master : masters) {
        if (!master->ready()) continue;
        auto map = co_await ask_connection(master);
        if (map) co_return map;
    }
    std::vector<Client::Address> addresses{{options_.host, options_.port, {}, {}}};
    addresses.insert(addresses.end(), options_.cluster_seeds.begin(), options_.cluster_seeds.end());
    for (const auto& master : masters)
        addresses.push_back({master->options().host, master->options().port, {}, {}});
    for (auto& address : addresses) {
        if (!running_) break;
        address.username = options_.username;
        address.password = options_.password;
        auto map = co_await ask_address(address);
        if (map) co_return map;
    }
    co_return std::nullopt;
}

Task<std::optional<SlotMap>> Cluster::ask_connection(std::shared_ptr<Connection> connection) {
    const auto deadline = Clock::now() + options_.connect_timeout;
    static const std::vector<std::string> shards_command{"CLUSTER", "SHARDS"};
    static const std::vector<std::string> slots_command{"CLUSTER", "SLOTS"};
    auto shards = connection->send(shards_command, deadline);
    auto slots = connection->send(slots_command, deadline);
    Result shards_reply = co_await wait_for(std::move(shards));
    Result slots_reply = co_await wait_for(std::move(slots));
    co_return read_map(shards_reply, slots_reply, connection->options().host);
}

Task<std::optional<SlotMap>> Cluster::ask_address(const Client::Address& address) {
    std::string failure;
    bool tls_failed = false;
    const Client::Tls* tls = options_.tls ? &*options_.tls : nullptr;
    std::vector<std::vector<std::string>> ask;
    ask.push_back({"CLUSTER", "SHARDS"});
    ask.push_back({"CLUSTER", "SLOTS"});
    auto replies = co_await request_once(executor_, tls, address, std::move(ask),
                                         options_.connect_timeout, failure, tls_failed);
    if (tls_failed && owner_ && owner_->on_tls_failure) owner_->on_tls_failure();
    if (!replies || replies->size() != 2) {
        spdlog::debug("redis cluster: {} gave no slot map: {}", name_of(address.host, address.port),
                      failure);
        co_return std::nullopt;
    }
    co_return read_map((*replies)[0], (*replies)[1], address.host);
}

// CLUSTER SHARDS when the server has it (Redis 7), else CLUSTER SLOTS.
std::optional<SlotMap> Cluster::read_map(const Result& shards, const Result& slots,
                                         const std::string& host) const {
    std::optional<SlotMap> map;
    if (shards) map = parse_shards(*shards, host, options_.tls.has_value());
    if (!map && slots) map = parse_slots(*slots, host);
    if (map && map->masters.empty()) map.reset();  // a node not yet part of a cluster
    return map;
}

// Keeps the connections to masters still in the map, opens the new ones, closes the rest.
void Cluster::apply(const SlotMap& map) {
    std::map<std::string, std::shared_ptr<Connection>> kept;  // by name: masters_ is sorted
    std::vector<Connection*> by_index;
    for (const auto& master : map.masters) {
        auto connection = connection_to(master.host, master.port);
        kept.emplace(name_of(master.host, master.port), connection);
        by_index.push_back(connection.get());
    }
    for (auto& [name, connection] : connections_)
        if (!kept.contains(name)) connection->stop();
    std::vector<std::shared_ptr<Connection>> masters;
    std::string names;
    for (const auto& [name, connection] : kept) {
        masters.push_back(connection);
        names += (names.empty() ? "" : ", ") + name;
    }
    const bool changed = !mapped_ || masters != masters_;
    connections_ = std::move(kept);
    masters_ = std::move(masters);
    for (std::size_t slot = 0; slot < cluster_slots; ++slot) {
        const auto index = map.owner[slot];
        slots_[slot] = index < 0 ? nullptr : by_index[static_cast<std::size_t>(index)];
    }
    mapped_ = true;
    if (changed) spdlog::info("redis cluster: {} masters ({})", masters_.size(), names);
}

// The connection to host:port: the one held, or a new one (started).
std::shared_ptr<Connection> Cluster::connection_to(const std::string& host, std::uint16_t port) {
    auto& connection = connections_[name_of(host, port)];
    if (connection) return connection;
    auto options = options_;
    options.host = host;
    options.port = port;
    options.cluster = false;
    options.cluster_seeds.clear();
    connection = std::make_shared<Connection>(executor_, std::move(options));
    connection->owner = owner_;
    connection->on_ready = [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->master_ready();
    };
    if (running_) connection->start();
    return connection;
}

std::shared_ptr<Connection> Cluster::for_slot(std::uint16_t slot) const {
    Connection* master = slots_[slot];
    if (master == nullptr) return nullptr;
    return master->shared_from_this();
}

std::shared_ptr<Connection> Cluster::any_master() const {
    for (const auto& master : masters_)
        if (master->ready()) return master;
    return nullptr;
}

std::shared_ptr<Connection> Cluster::follow(const Redirect& redirect, const Connection& from) {
    const auto& host = redirect.host.empty() ? from.options().host : redirect.host;
    auto connection = connection_to(host, redirect.port);
    if (!redirect.ask) {
        slots_[redirect.slot] = connection.get();
        want_refresh();
    }
    return connection;
}

void Cluster::finished_unsent(Clock::time_point start, const Result& result) const {
    if (owner_ && owner_->on_call) owner_->on_call(Clock::now() - start, result.has_value());
}

}  // namespace llmgw::redis::detail
