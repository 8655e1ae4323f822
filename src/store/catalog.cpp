// The store's thread: one io_context for the connection, the flush and sync loops, and the
// jobs the admin API hands over. Nothing here runs on a worker.
#include "llmgw/store/catalog.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <thread>

#include "postgres_connection.hpp"

namespace llmgw::store {

namespace net = boost::asio;

namespace {

std::int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

net::awaitable<void> pause(std::chrono::milliseconds how_long) {
    net::steady_timer timer(co_await net::this_coro::executor, how_long);
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
}

}  // namespace

struct Catalog::Thread {
    net::io_context io{1};
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
    std::thread thread;
    std::thread feed;  // PostgreSQL: LISTEN on a connection of its own
    std::atomic<bool> stopping{false};
};

// PostgreSQL only: the names other instances changed arrive here (NOTIFY, sent at their
// commit) and are re-read on the store's thread. Once listening (at start and after each
// reconnect) everything is re-read: notifications sent before LISTEN are never delivered.
void Catalog::listen_for_changes() {
    auto& t = *thread_;
    while (!t.stopping) {
        try {
            PostgresFeed feed(config_.url);
            net::post(t.io, [this] { sync(); });
            while (!t.stopping)
                for (auto& name : feed.wait(200))
                    net::post(t.io, [this, name = std::move(name)] {
                        try {
                            refresh(connected(), name);
                        } catch (const StoreError& error) {
                            failed(error, "re-reading a changed consumer");
                        }
                    });
        } catch (const StoreError&) {
            for (int i = 0; i < 10 && !t.stopping; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

void Catalog::sync() {
    try {
        load_all(connected());
    } catch (const StoreError& error) {
        failed(error, "re-reading consumers and keys");
    }
}

Catalog::Catalog(config::StoreConfig config, std::size_t buffer_rows)
    : config_(std::move(config)), usage_(buffer_rows), thread_(std::make_unique<Thread>()) {}

Catalog::~Catalog() { stop(); }

Store& Catalog::connected() {
    if (!store_) {
        store_ = open_store(config_);
        store_->migrate();
    }
    return *store_;
}

void Catalog::failed(const StoreError& error, const char* during) {
    if (reachable_.exchange(false) || !loaded_)
        spdlog::error("store: {} failed, serving with the consumers and keys last loaded: {}",
                      during, error.what());
    store_.reset();  // reconnect on the next call
}

void Catalog::load_all(Store& store) {
    directory_.publish(std::make_shared<const Directory>(store.load(std::nullopt)));
    synced_at_.store(steady_seconds());
    if (!reachable_.exchange(true) && loaded_) spdlog::info("store: reachable again");
}

void Catalog::refresh(Store& store, const std::string& name) {
    directory_.publish(directory_.current()->with(name, store.load(name)));
}

void Catalog::write_ledger(Store& store) {
    auto batch = usage_.take();
    if (batch.empty()) return;
    try {
        store.add_usage(batch.rows);
    } catch (const StoreError&) {
        // Kept for the next flush (up to the buffer's bound).
        usage_.put_back(std::move(batch));
        throw;
    }
    try {
        store.mark_keys_used(batch.keys_used);
    } catch (const StoreError&) {
        // Only the keys' last-use day is lost for this batch, never usage.
    }
}

void Catalog::flush() {
    try {
        write_ledger(connected());
        reachable_.store(true);
    } catch (const StoreError& error) {
        failed(error, "writing the usage ledger");
    }
}

void Catalog::start(std::function<void()> on_loaded) {
    auto& t = *thread_;
    net::co_spawn(
        t.io,
        [this, on_loaded = std::move(on_loaded)]() -> net::awaitable<void> {
            auto& t = *thread_;
            while (!t.stopping) {
                try {
                    load_all(connected());
                    break;
                } catch (const StoreError& error) {
                    failed(error, "loading consumers and keys");
                }
                co_await pause(std::chrono::seconds(1));
            }
            if (t.stopping) co_return;
            loaded_ = true;
            spdlog::info("store: {} consumers and {} keys loaded",
                         directory_.current()->consumers().size(), directory_.current()->key_count());
            on_loaded();
            net::co_spawn(t.io, [this]() -> net::awaitable<void> {
                while (!thread_->stopping) {
                    co_await pause(config_.flush_interval);
                    flush();
                }
            }, net::detached);
            net::co_spawn(t.io, [this]() -> net::awaitable<void> {
                while (!thread_->stopping) {
                    co_await pause(config_.sync_interval);
                    sync();
                }
            }, net::detached);
            if (config_.engine == config::StoreConfig::Engine::postgres)
                t.feed = std::thread([this] { listen_for_changes(); });
        },
        net::detached);
    t.thread = std::thread([&t] { t.io.run(); });
}

void Catalog::stop() {
    auto& t = *thread_;
    if (!t.thread.joinable()) return;
    std::promise<void> flushed;
    net::post(t.io, [this, &flushed] {
        thread_->stopping = true;
        if (loaded_) flush();
        flushed.set_value();
    });
    flushed.get_future().wait();
    if (t.feed.joinable()) t.feed.join();
    t.work.reset();
    t.io.stop();
    t.thread.join();
    store_.reset();
}

// The job runs on the store's thread; its outcome (an exception or none) comes back to the
// caller's executor through the completion handler, as any asynchronous operation's does.
net::awaitable<void, net::io_context::executor_type> Catalog::run(std::function<void(Store&)> job) {
    using Token = net::use_awaitable_t<net::io_context::executor_type>;
    std::exception_ptr failure;
    co_await net::async_initiate<const Token&, void()>(
        [this, &job, &failure](auto handler) {
            auto resume_on = net::get_associated_executor(handler);
            net::post(thread_->io, [this, &job, &failure, resume_on,
                                    handler = std::move(handler)]() mutable {
                try {
                    auto& store = connected();
                    job(store);
                    reachable_.store(true);
                } catch (const Conflict&) {
                    failure = std::current_exception();  // the database answered
                } catch (const StoreError& error) {
                    failed(error, "a change");
                    failure = std::current_exception();
                } catch (const std::exception&) {
                    failure = std::current_exception();  // a bug in the job: the call fails
                }
                net::post(resume_on, std::move(handler));
            });
        },
        Token{});
    if (failure) std::rethrow_exception(failure);
}

std::chrono::seconds Catalog::since_sync() const {
    const auto at = synced_at_.load();
    if (at == 0) return std::chrono::seconds(0);
    return std::chrono::seconds(steady_seconds() - at);
}

}  // namespace llmgw::store
