// What the fake model server's parts share: its options, its counters and the connection entry.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gpu_engine.hpp"

namespace fake_model {

// The command line, validated once.
struct ServerOptions {
    std::string listen_host;
    std::uint16_t listen_port = 0;
    int threads = 1;
    std::string id = "fake";
    std::string model = "fake-model";
    int chunks = 8;
    int chunk_interval_ms = 20;
    std::string jwks_file;  // served at /.well-known/jwks.json, read on every request
    std::string tls_cert;   // both set: HTTPS
    std::string tls_key;
    int close_idle_after_ms = 0;  // like uvicorn's timeout_keep_alive; 0: never
    GpuOptions gpu;               // --gpu-*: a simulated GPU engine (gpu_engine.hpp)
};

// The last model request as it was read; defined where requests are read (connection.cpp).
struct RecordedRequest;

// Counters and switches shared by every connection on every worker thread.
struct ServerState {
    explicit ServerState(ServerOptions server_options);

    const ServerOptions options;
    const std::string model_json;  // options.model encoded once as a JSON string
    GpuEngine gpu{options.gpu};    // the simulated engine and the /metrics test overrides

    std::atomic<bool> healthy{true};
    std::atomic<unsigned> forced_status{0};       // POST /fake/status/NNN: every model answer fails
    std::atomic<std::uint64_t> hang_ups_seen{0};  // clients that left while an answer was pending
    std::atomic<std::uint64_t> requests_total{0};
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<std::uint64_t> completions_running{0};  // vllm:num_requests_running
    std::atomic<std::uint64_t> prompt_tokens{0};
    std::atomic<std::uint64_t> generation_tokens{0};
    std::atomic<std::uint64_t> completions_succeeded{0};

    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> idle_closes{0};  // connections closed by --close-idle-after

    std::atomic<std::uint64_t> tls_handshakes{0};  // completed: one per new TLS connection
    std::atomic<std::uint64_t> tls_handshake_failures{0};

    std::mutex mutex;  // guards the two members below
    std::map<std::string, std::uint64_t, std::less<>> requests_by_path;
    std::shared_ptr<const RecordedRequest> last_request;  // with the SNI of its connection
};

// A socket bound to one worker's io_context: no type-erased executor on the hot path.
using WorkerSocket =
    boost::asio::ip::tcp::socket::rebind_executor<boost::asio::io_context::executor_type>::other;
using TlsStream = boost::asio::ssl::stream<WorkerSocket>;

// Serves one client connection (HTTP/1.1, keep-alive) until it closes or the server stops.
boost::asio::awaitable<void> serve_connection(WorkerSocket socket, ServerState& state);
// The same over TLS (--tls-cert/--tls-key), recording the SNI name the client sent.
boost::asio::awaitable<void> serve_tls_connection(WorkerSocket socket,
                                                  boost::asio::ssl::context& context,
                                                  ServerState& state);

}  // namespace fake_model
