// Entry point of llmgw-fake-model: reads the command line, listens, and runs one io_context per
// worker thread until SIGTERM or SIGINT.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "fake_model_server.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using fake_model::ServerOptions;
using fake_model::ServerState;

namespace {

constexpr std::string_view usage = R"(usage: llmgw-fake-model --listen HOST:PORT [options]

A fake vLLM/OpenAI-compatible model server for tests and benchmarks.

  --listen HOST:PORT        address to listen on (required); port 0 lets the OS pick.
                            Prints "listening on HOST:PORT" once listening.
  --threads N               worker threads (default 1)
  --id NAME                 value of the x-fake-server header on every response (default "fake")
  --model NAME              model in /v1/models and in answers to requests without one
  --jwks FILE               serve FILE at GET /.well-known/jwks.json (a stand-in identity provider)
                            (default "fake-model")
  --chunks N                words of an answer = SSE word events of a stream (default 8)
  --chunk-interval-ms N     pause between SSE word events (default 20)
  --tls-cert FILE           serve HTTPS with this PEM certificate chain (needs --tls-key);
                            /fake/stats then reports tls_handshakes, tls_handshake_failures
                            and last_sni (the SNI name of the last model request's connection)
  --tls-key FILE            the PEM private key of --tls-cert
  --close-idle-after-ms N   close a keep-alive connection idle this long between requests, as
                            uvicorn (and so vLLM) does after 5 s (default 0: never);
                            /fake/stats reports idle_closes and connections_open
  --gpu-slots N              simulate a GPU engine with N running slots and a FIFO queue;
                            TTFT = queue wait + prefill of the prompt tokens its prefix cache
                            lacks; /metrics then reports vLLM's queue, KV-cache and prefix-cache
                            figures. With it: --gpu-prefill-tps (8000), --gpu-decode-tps (50),
                            --gpu-kv-tokens (200000), --gpu-block-tokens (16),
                            --gpu-metrics-lag-ms (0), --gpu-max-output-tokens (4096)
  --help                    this text

Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health,
GET /v2/health/ready, GET /metrics; test controls: POST /fake/health/ok, POST /fake/health/fail,
GET /fake/stats, POST /fake/reset, POST /fake/engine/waiting/N|off,
POST /fake/engine/metrics/ok|fail|garbage, POST /fake/engine/format/vllm|triton (/metrics in
vLLM's or Triton's names), POST /fake/engine/lora/NAME[,NAME]|off (LoRA adapters /metrics
reports running, in vllm:lora_requests_info).
Request headers: x-fake-status, x-fake-delay-ms, x-fake-chunks, x-fake-chunk-interval-ms,
x-fake-hold-ms (a pause after a stream's first event), x-fake-drop-after, x-fake-reset-after (a
reset instead of a close), x-fake-echo: 1.
)";

struct CommandLineError {
    std::string message;
};

std::optional<int> parse_count(std::string_view text, int minimum) {
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < minimum) {
        return std::nullopt;
    }
    return value;
}

// "HOST:PORT" or "[V6]:PORT" into options.listen_host / listen_port.
bool parse_listen(std::string_view text, ServerOptions& options) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const auto port = parse_count(text.substr(colon + 1), 0);
    if (!port || *port > 65535) return false;
    options.listen_host = host;
    options.listen_port = static_cast<std::uint16_t>(*port);
    return true;
}

// Returns the options, or nothing after --help; throws CommandLineError on bad input.
std::optional<ServerOptions> parse_command_line(int argc, char** argv) {
    ServerOptions options;
    bool listen_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        std::optional<std::string_view> inline_value;
        if (const auto equals = flag.find('='); flag.starts_with("--") && equals != flag.npos) {
            inline_value = flag.substr(equals + 1);
            flag = flag.substr(0, equals);
        }
        if (flag == "--help" || flag == "-h") return std::nullopt;
        auto value = [&]() -> std::string_view {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc) throw CommandLineError{std::string(flag) + " needs a value"};
            return argv[++i];
        };
        auto count = [&](int minimum) {
            const std::string_view text = value();
            const auto parsed = parse_count(text, minimum);
            if (!parsed) {
                throw CommandLineError{std::string(flag) +
                                       ": expected an integer >= " + std::to_string(minimum) +
                                       ", got '" + std::string(text) + "'"};
            }
            return *parsed;
        };
        if (flag == "--listen") {
            const std::string_view text = value();
            if (!parse_listen(text, options)) {
                throw CommandLineError{"--listen: expected HOST:PORT, got '" + std::string(text) +
                                       "'"};
            }
            listen_given = true;
        } else if (flag == "--threads") {
            options.threads = count(1);
        } else if (flag == "--id") {
            options.id = value();
        } else if (flag == "--model") {
            options.model = value();
        } else if (flag == "--chunks") {
            options.chunks = count(0);
        } else if (flag == "--chunk-interval-ms") {
            options.chunk_interval_ms = count(0);
        } else if (flag == "--close-idle-after-ms") {
            options.close_idle_after_ms = count(0);
        } else if (flag == "--jwks") {
            options.jwks_file = value();
        } else if (flag == "--tls-cert") {
            options.tls_cert = value();
        } else if (flag == "--tls-key") {
            options.tls_key = value();
        } else if (flag.starts_with("--gpu-")) {
            if (auto problem = options.gpu.set(flag, value()); !problem.empty())
                throw CommandLineError{problem};
        } else {
            throw CommandLineError{"unknown option '" + std::string(argv[i]) + "'"};
        }
    }
    if (!listen_given) throw CommandLineError{"--listen HOST:PORT is required"};
    if (options.tls_cert.empty() != options.tls_key.empty())
        throw CommandLineError{"--tls-cert and --tls-key go together"};
    return options;
}

tcp::endpoint resolve_listen_address(asio::io_context& context, const ServerOptions& options) {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(options.listen_host, error);
    if (!error) return {address, options.listen_port};
    tcp::resolver resolver{context};
    const auto results = resolver.resolve(options.listen_host, std::to_string(options.listen_port),
                                          tcp::resolver::passive);
    return results.begin()->endpoint();
}

using Workers = std::vector<std::unique_ptr<asio::io_context>>;

// Accepts on the first worker and hands connections to the workers in turn.
// `tls`, when set, makes every connection HTTPS.
asio::awaitable<void> accept_connections(tcp::acceptor& acceptor, Workers& workers,
                                         ServerState& state, asio::ssl::context* tls) {
    std::size_t next = 0;
    for (;;) {
        asio::io_context& worker = *workers[next++ % workers.size()];
        auto [error, socket] =
            co_await acceptor.async_accept(worker, asio::as_tuple(asio::use_awaitable));
        if (error == asio::error::operation_aborted) co_return;
        if (error) continue;  // e.g. the peer reset before accept, or out of descriptors
        if (tls != nullptr)
            asio::co_spawn(worker, fake_model::serve_tls_connection(std::move(socket), *tls, state),
                           asio::detached);
        else
            asio::co_spawn(worker, fake_model::serve_connection(std::move(socket), state),
                           asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<ServerOptions> options;
    try {
        options = parse_command_line(argc, argv);
    } catch (const CommandLineError& error) {
        std::cerr << "llmgw-fake-model: " << error.message << " (see --help)\n";
        return 2;
    }
    if (!options) {
        std::cout << usage;
        return 0;
    }

    ServerState state{*options};
    Workers workers;
    for (int i = 0; i < state.options.threads; ++i) {
        workers.push_back(std::make_unique<asio::io_context>(1));
    }
    asio::io_context& first = *workers.front();

    tcp::acceptor acceptor{first};
    try {
        const tcp::endpoint endpoint = resolve_listen_address(first, state.options);
        acceptor.open(endpoint.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(endpoint);
        acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& error) {
        std::cerr << "llmgw-fake-model: cannot listen on " << state.options.listen_host << ":"
                  << state.options.listen_port << ": " << error.code().message() << "\n";
        return 1;
    }
    const bool v6 = state.options.listen_host.find(':') != std::string::npos;
    std::cout << "listening on " << (v6 ? "[" : "") << state.options.listen_host << (v6 ? "]" : "")
              << ":" << acceptor.local_endpoint().port() << std::endl;

    std::unique_ptr<asio::ssl::context> tls;
    if (!state.options.tls_cert.empty()) {
        tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        try {
            tls->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
            tls->use_certificate_chain_file(state.options.tls_cert);
            tls->use_private_key_file(state.options.tls_key, asio::ssl::context::pem);
        } catch (const boost::system::system_error& error) {
            std::cerr << "llmgw-fake-model: cannot use --tls-cert/--tls-key: "
                      << error.code().message() << "\n";
            return 1;
        }
    }
    asio::co_spawn(first, accept_connections(acceptor, workers, state, tls.get()), asio::detached);

    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
    for (auto& worker : workers) keep_running.push_back(asio::make_work_guard(*worker));
    asio::signal_set signals{first, SIGINT, SIGTERM};
    signals.async_wait([&workers](const boost::system::error_code&, int) {
        for (auto& worker : workers) worker->stop();
    });

    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < workers.size(); ++i) {
        threads.emplace_back([&worker = *workers[i]] { worker.run(); });
    }
    first.run();
    threads.clear();  // joins
    return 0;
}
