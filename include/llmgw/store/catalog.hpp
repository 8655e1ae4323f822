// The store at run time: its own thread and connection (never a worker's), the directory of
// consumers and keys published to the request path, the usage ledger flushed every
// flush_interval, and a full re-read every sync_interval. When the database is away the
// gateway keeps the directory it last loaded and buffers the ledger.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/store/directory.hpp"
#include "llmgw/store/store.hpp"
#include "llmgw/store/usage_buffer.hpp"

namespace llmgw::store {

class Catalog {
public:
    // Rows of the ledger held in memory while the database is away (then dropped, counted).
    static constexpr std::size_t default_buffer_rows = 200000;

    explicit Catalog(config::StoreConfig config, std::size_t buffer_rows = default_buffer_rows);
    ~Catalog();
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    // Starts the store's thread: connect, migrate, load (retried each second until it works),
    // then `on_loaded` (once, on the store's thread), then the flush and sync loops.
    void start(std::function<void()> on_loaded);
    // Writes what the ledger holds and ends the thread. Safe to call twice.
    void stop();

    const DirectorySource& directory() const { return directory_; }
    UsageBuffer& usage() { return usage_; }
    const config::StoreConfig& config() const { return config_; }

    // Runs `job` on the store's thread with a connected store; resumes the caller on its own
    // executor. Throws StoreError when the database cannot be reached (or the job's own).
    // Awaited from a worker's coroutines: on the worker's executor type.
    boost::asio::awaitable<void, boost::asio::io_context::executor_type> run(
        std::function<void(Store&)> job);
    // Inside a job, after a change to consumer `name`: re-read it and publish the directory.
    void refresh(Store& store, const std::string& name);
    // Inside a job: writes what the ledger holds now (kept for later when it fails, and the
    // StoreError goes on), so a report read next includes usage not yet flushed.
    void write_ledger(Store& store);

    bool loaded() const { return loaded_.load(); }
    // Whether the last call to the database succeeded.
    bool reachable() const { return reachable_.load(); }
    // Since the directory was last read whole from the database (how stale it may be).
    std::chrono::seconds since_sync() const;

private:
    struct Thread;
    Store& connected();
    void load_all(Store& store);
    void flush();
    void sync();
    void listen_for_changes();
    void failed(const StoreError& error, const char* during);

    config::StoreConfig config_;
    DirectorySource directory_;
    UsageBuffer usage_;
    std::unique_ptr<Store> store_;  // the store's thread only
    std::unique_ptr<Thread> thread_;
    std::atomic<bool> loaded_{false};
    std::atomic<bool> reachable_{false};
    std::atomic<std::int64_t> synced_at_{0};  // steady-clock seconds of the last full read
};

// A new API key: `llmgw_` and 48 hex digits from the CSPRNG (shown once), its SHA-256 and
// prefix (kept), and a public id.
struct NewKey {
    std::string key;
    StoredKey stored;
};
NewKey generate_key(std::string label, UnixSeconds now, std::optional<UnixSeconds> expires_at);

}  // namespace llmgw::store
