// Worker threads (one io_context and one SO_REUSEPORT acceptor each), the admin listener
// on the main thread, the SIGTERM drain, and SIGUSR1 for log rotation.
#include "llmgw/server/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <sstream>
#include <atomic>
#include <stdexcept>
#include <thread>

#include "llmgw/admin/admin_handler.hpp"
#include "llmgw/gateway/gateway.hpp"
#include "llmgw/gateway/pipeline.hpp"
#include "llmgw/http/client_session.hpp"
#include "llmgw/http/read_hints.hpp"
#include "llmgw/limits/admission.hpp"
#include "llmgw/redis/client.hpp"
#include "llmgw/tls/server_context.hpp"
#include "llmgw/tracing/span_exporter.hpp"

namespace llmgw::server {

namespace net = http::net;
using http::tcp;
using gateway::Gateway;
using gateway::Pipeline;
using gateway::RequestContext;

namespace {

using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

tcp::endpoint resolve_listen(net::io_context& io, const config::ListenAddress& listen) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(listen.host, ec);
    if (!ec) return {address, listen.port};
    tcp::resolver resolver(io);
    auto results = resolver.resolve(listen.host, std::to_string(listen.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve listen address " + listen.host + ": " +
                                 ec.message());
    return *results.begin();
}

// With SO_REUSEPORT a second llmgw (same user) could bind the same port and silently
// take half the connections; a probe bind without it fails while anyone holds the port.
void ensure_port_free(net::io_context& io, const tcp::endpoint& endpoint) {
    tcp::acceptor probe(io);
    boost::system::error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) {
        std::ostringstream where;
        where << endpoint;
        throw std::runtime_error("cannot listen on " + where.str() + ": " + ec.message());
    }
}

void open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool share_port) {
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && share_port) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    // Accepted connections inherit it: their draining reads need it (read_hints.hpp). Without
    // it reads are as Asio's, so a refusal is not an error.
    if (!ec) (void)http::enable_read_hints(acceptor.native_handle());
    if (ec) {
        std::ostringstream where;
        where << endpoint;
        throw std::runtime_error("cannot listen on " + where.str() + ": " + ec.message());
    }
}

// Open connections across workers, against server.max_connections.
struct ConnectionBudget {
    std::atomic<unsigned> open{0};
    unsigned max = 0;
    observability::Metrics* metrics = nullptr;
};

// `tls`, when set, terminates TLS on every connection with its current context.
http::Task<void> accept_loop(tcp::acceptor& acceptor, const http::SessionLimits& limits,
                                 const http::ConnectionHandlers& handlers, ConnectionBudget* budget,
                                 const tls::ServerContext* tls) {
    auto executor = co_await net::this_coro::executor;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(http::use_awaitable));
        if (!acceptor.is_open()) co_return;
        if (ec) {
            // Out of file descriptors and similar: pause instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            http::Timer pause(executor, std::chrono::milliseconds(50));
            co_await pause.async_wait(net::as_tuple(http::use_awaitable));
            continue;
        }
        if (budget != nullptr && budget->open.fetch_add(1, std::memory_order_relaxed) >= budget->max) {
            budget->open.fetch_sub(1, std::memory_order_relaxed);
            budget->metrics->connection_refused();
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        auto session = tls != nullptr ? http::serve_tls_connection(std::move(socket),
                                                                   tls->current(), limits, handlers)
                                      : http::serve_connection(std::move(socket), limits, handlers);
        net::co_spawn(executor, std::move(session),
                      [budget](std::exception_ptr failure) {
                          if (budget != nullptr) budget->open.fetch_sub(1, std::memory_order_relaxed);
                          // One connection's bug must not pass silently (nor take the worker down).
                          if (!failure) return;
                          try {
                              std::rethrow_exception(failure);
                          } catch (const std::exception& e) {
                              spdlog::error("connection ended by an unexpected error: {}",
                                            e.what());
                          } catch (...) {
                              spdlog::error("connection ended by an unexpected error");
                          }
                      });
    }
}

// A handler that throws (an allocation that fails inside an I/O operation, say) loses only its
// own operation: its coroutine and connection are destroyed with it, and the worker goes on.
void run_worker(net::io_context& io) {
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("an operation failed and was dropped: {}", e.what());
        }
    }
}

// SIGUSR1 (logrotate's postrotate): the access log opens its file again; then waits for the next.
void reopen_access_log_on_signal(net::signal_set& signals, Gateway& gateway) {
    signals.async_wait([&signals, &gateway](const boost::system::error_code& ec, int) {
        if (ec) return;
        gateway.access_log().reopen();
        reopen_access_log_on_signal(signals, gateway);
    });
}

}  // namespace

// The worker's own Redis connection (limits, usage, the cache's Redis store), started at once;
// null without a redis section.
std::unique_ptr<redis::Client> connect_worker_redis(const Gateway& gateway,
                                                    http::Executor executor,
                                                    observability::Metrics& metrics) {
    if (!gateway.redis_options()) return nullptr;
    auto client = std::make_unique<redis::Client>(std::move(executor), *gateway.redis_options());
    client->on_call = [&metrics](std::chrono::steady_clock::duration latency, bool ok) {
        metrics.redis_call(latency, ok);
    };
    client->on_tls_failure = [&metrics] { metrics.redis_tls_failure(); };
    client->start();
    return client;
}

struct Worker {
    Worker(Gateway& gateway)
        // Only this worker's thread runs its io_context or touches its sockets (others post
        // to it): the reactor's per-socket locks, about 1,800 instructions a request, go.
        : io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
          acceptor(io),
          pool(io.get_executor(), &gateway.metrics()),
          redis(connect_worker_redis(gateway, io.get_executor(), gateway.metrics())),
          admission(gateway.limiter(), gateway.usage(), gateway.startup_config(), io.get_executor(),
                    gateway.metrics(), redis.get(), &gateway.fleet()),
          traces(io.get_executor(), gateway.trace_metrics()),
          pipeline(gateway.pipeline_services(), pool, admission, redis.get(), &traces) {
        handlers.request = [this](http::Request& request, const std::string& client_ip,
                                  http::ResponseWriter& writer,
                                  http::RequestBody& body) -> http::Task<void> {
            RequestContext context(request, client_ip);
            co_await pipeline.handle(context, body, writer);
        };
        handlers.refused = [this](const http::RefusedRequest& refused) {
            pipeline.record_refusal(refused);
        };
    }
    net::io_context io;
    tcp::acceptor acceptor;
    upstream::ConnectionPool pool;
    std::unique_ptr<redis::Client> redis;  // when Redis is configured
    limits::Admission admission;
    tracing::SpanExporter traces;  // sampled requests' spans, to the collector
    Pipeline pipeline;
    http::ConnectionHandlers handlers;
    std::thread thread;

    ~Worker() {
        if (redis) redis->stop();
    }
};

struct Server::State {
    State(std::shared_ptr<const config::Config> config, std::string config_path)
        : gateway(std::move(config), std::move(config_path)),
          limits(http::SessionLimits::from(gateway.startup_config().server)),
          admin_acceptor(main_io),
          admin_handlers{admin::make_admin_handler(gateway), {}} {}

    Gateway gateway;
    http::SessionLimits limits;
    net::io_context main_io{1};
    tcp::acceptor admin_acceptor;
    http::ConnectionHandlers admin_handlers;
    std::vector<std::unique_ptr<Worker>> workers;
    ConnectionBudget connections;
};

Server::Server(std::shared_ptr<const config::Config> config, std::string config_path)
    : state_(std::make_unique<State>(std::move(config), std::move(config_path))) {}

Server::~Server() {
    for (auto& worker : state_->workers) {
        worker->io.stop();
        if (worker->thread.joinable()) worker->thread.join();
    }
}

void Server::start() {
    auto& s = *state_;
    s.connections.max = s.gateway.startup_config().server.max_connections;
    s.connections.metrics = &s.gateway.metrics();
    const auto& config = s.gateway.startup_config();
    const auto endpoint = resolve_listen(s.main_io, config.server.listen);
    ensure_port_free(s.main_io, endpoint);
    s.gateway.start_background_work(s.main_io.get_executor());
    for (unsigned i = 0; i < config.server.workers; ++i) {
        auto worker = std::make_unique<Worker>(s.gateway);
        open_listener(worker->acceptor, endpoint, /*share_port=*/true);
        s.workers.push_back(std::move(worker));
    }
    open_listener(s.admin_acceptor, resolve_listen(s.main_io, config.admin.listen),
                  /*share_port=*/false);
    // The store, when configured, is one more party: ready once consumers and keys are loaded.
    auto* catalog = s.gateway.catalog();
    s.gateway.readiness().expect(static_cast<unsigned>(s.workers.size()) + (catalog ? 1 : 0));
    if (catalog != nullptr)
        catalog->start([&readiness = s.gateway.readiness()] { readiness.worker_ready(); });
    for (auto& worker : s.workers)
        worker->admission.when_ready([&readiness = s.gateway.readiness()] {
            readiness.worker_ready();
        });
    for (auto& worker : s.workers) {
        net::co_spawn(
            worker->io,
            accept_loop(worker->acceptor, s.limits, worker->handlers, &s.connections, s.gateway.server_tls()),
            net::detached);
        worker->thread = std::thread([io = &worker->io] { run_worker(*io); });
    }
    net::co_spawn(s.main_io,
                  accept_loop(s.admin_acceptor, s.limits, s.admin_handlers, nullptr, nullptr),
                  net::detached);
    spdlog::info("llmgw listening on {}:{} ({}) with {} workers; admin on {}:{}",
                 config.server.listen.host, s.workers.front()->acceptor.local_endpoint().port(),
                 s.gateway.server_tls() ? "https" : "http", s.workers.size(), config.admin.listen.host,
                 s.admin_acceptor.local_endpoint().port());
}

void Server::run() {
    auto& s = *state_;
    net::signal_set log_rotation(s.main_io, SIGUSR1);
    reopen_access_log_on_signal(log_rotation, s.gateway);
    net::signal_set signals(s.main_io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        // A second signal during the drain stops at once.
        signals.async_wait([&](const boost::system::error_code& again, int) {
            if (again) return;
            spdlog::warn("second signal: stopping without waiting for in-flight requests");
            s.main_io.stop();
        });
        const auto drain_timeout = s.gateway.snapshot()->config().server.drain_timeout;
        spdlog::info("signal {}: draining (up to {} ms)", signal, drain_timeout.count());
        for (auto& worker : s.workers)
            net::post(worker->io, [w = worker.get()] {
                boost::system::error_code ignored;
                w->acceptor.close(ignored);
            });
        net::co_spawn(
            s.main_io,
            [&s, drain_timeout]() -> http::Task<void> {
                // Told when the last request ends; cut at drain_timeout otherwise.
                const bool drained = co_await s.gateway.drain().drain(drain_timeout);
                if (!drained)
                    spdlog::warn("drain timeout: {} requests still in flight are cut",
                                 s.gateway.drain().in_flight());
                // Settles, usage records and unused lease slices still waiting for Redis go
                // before the end. Only workers with Redis hold any; their connection keeps
                // their loop running (a worker without work left has ended its loop).
                for (auto& worker : s.workers)
                    if (worker->redis)
                        co_await net::co_spawn(worker->io, worker->admission.drain(),
                                               http::use_awaitable);
                s.main_io.stop();
            },
            net::detached);
    });
    // SIGHUP: read the config file again (POST /admin/reload does the same).
    net::signal_set hangups(s.main_io, SIGHUP);
    std::function<void()> wait_for_hangup = [&] {
        hangups.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            spdlog::info("SIGHUP: reloading the configuration");
            s.gateway.reload();
            wait_for_hangup();
        });
    };
    wait_for_hangup();
    s.main_io.run();
    for (auto& worker : s.workers) {
        worker->io.stop();
        worker->thread.join();
    }
    s.gateway.stop_background_work();
    // Every request has settled: the ledger's last rows are written now.
    if (auto* catalog = s.gateway.catalog()) catalog->stop();
    s.gateway.access_log().flush();
    spdlog::info("llmgw stopped");
}

}  // namespace llmgw::server
