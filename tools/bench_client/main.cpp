// Entry point of llmgw-bench-client: reads the command line and runs one mode on one thread.
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

#include "bench_client.hpp"

namespace {

constexpr std::string_view usage = R"(usage: llmgw-bench-client MODE --target HOST:PORT [options]

The load client of bench/run.sh, one thread, loopback or any IPv4/IPv6 address.

Modes:
  streams   open --streams N requests at once, each an SSE stream, and read every one to its
            end. A stream counts as complete when its status is 200 and its last event is
            "data: [DONE]" followed by the end of the body; any other stream is lost.
            Prints "OPEN opened=N failed=N finished=N events=N elapsed_ms=N" once every
            stream has its first event (or failed; finished: those already over), then
            "STREAMS requested=N opened=N completed=N lost=N events=N connect_errors=N
            http_errors=N statuses=S:N,... cut=N timed_out=N elapsed_ms=N".
  rate      send --rate R requests a second on a fixed schedule (request i at start + i/R)
            over --connections C keep-alive connections for --duration S seconds. Latency
            counts from the scheduled time, so a late send shows in it. Prints "RATE
            requests=N rps=X p50_us=N p99_us=N max_us=N late=N non2xx=N errors=N".
  alternate one request at a time, to each --target NAME=HOST:PORT in turn (each cycle
            starting one target further along), for --duration S seconds split into
            --rounds R rounds, on one keep-alive connection per target: concurrency 1, with
            the targets sharing the machine's hiccups request by request. Latency counts
            from the write of the request to the end of its answer. Prints per target
            "ROUND round=R name=NAME requests=N p50_us=N p90_us=N p99_us=N p999_us=N
            max_us=N non2xx=N errors=N" for each round, then the same as "ALL round=0"
            over every round.

Options:
  --target HOST:PORT   the server (required); alternate: NAME=HOST:PORT, repeated
  --path PATH          request path (default /v1/chat/completions)
  --body TEXT          JSON body of the POST (required)
  --header 'Name: v'   an extra request header (repeatable)
  --streams N          streams: how many (default 1000)
  --max-pending N      streams: at most N streams connecting or waiting for their first
                       event at once, so listen backlogs never overflow (default 256)
  --timeout S          streams: streams not ended after S seconds are lost (default 120)
  --rate R             rate: requests per second (default 1000)
  --connections C      rate: connections (default 16)
  --duration S         rate, alternate: seconds (default 10)
  --rounds R           alternate: rounds (default 1)
)";

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "llmgw-bench-client: " << message << " (see --help)\n";
    std::exit(2);
}

double number(std::string_view flag, std::string_view text, double minimum) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < minimum)
        fail(std::string(flag) + ": expected a number >= " + std::to_string(minimum));
    return value;
}

boost::asio::ip::tcp::endpoint parse_target(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) fail("--target: expected HOST:PORT");
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    boost::system::error_code error;
    const auto address = boost::asio::ip::make_address(host, error);
    if (error) fail("--target: the host must be an IP address");
    const auto port = number("--target", text.substr(colon + 1), 1);
    return {address, static_cast<unsigned short>(port)};
}

// One option of the command line into options; false when the flag is unknown.
bool apply(bench_client::Options& options, std::string_view flag, std::string_view value) {
    if (flag == "--target") {
        const auto equals = value.find('=');
        const auto name = equals == std::string_view::npos ? value : value.substr(0, equals);
        options.target = parse_target(equals == std::string_view::npos ? value : value.substr(equals + 1));
        options.endpoints.push_back({std::string(name), options.target});
    }
    else if (flag == "--path") options.path = value;
    else if (flag == "--body") options.body = value;
    else if (flag == "--header") options.headers.append(value).append("\r\n");
    else if (flag == "--streams") options.streams = static_cast<int>(number(flag, value, 1));
    else if (flag == "--max-pending") options.max_pending = static_cast<int>(number(flag, value, 1));
    else if (flag == "--timeout") options.timeout_s = static_cast<int>(number(flag, value, 1));
    else if (flag == "--rate") options.rate = number(flag, value, 1);
    else if (flag == "--connections") options.connections = static_cast<int>(number(flag, value, 1));
    else if (flag == "--duration") options.duration_s = static_cast<int>(number(flag, value, 1));
    else if (flag == "--rounds") options.rounds = static_cast<int>(number(flag, value, 1));
    else return false;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
        std::cout << usage;
        return argc < 2 ? 2 : 0;
    }
    bench_client::Options options;
    options.mode = argv[1];
    if (options.mode != "streams" && options.mode != "rate" && options.mode != "alternate")
        fail("unknown mode '" + options.mode + "'");
    bool target_given = false;
    for (int i = 2; i < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) fail(std::string(flag) + " needs a value");
        if (!apply(options, flag, argv[i + 1])) fail("unknown option '" + std::string(flag) + "'");
        target_given = target_given || flag == "--target";
    }
    if (!target_given) fail("--target HOST:PORT is required");
    if (options.body.empty()) fail("--body is required");
    boost::asio::io_context context(1);  // one thread: no locking inside Asio
    if (options.mode == "streams") return bench_client::run_streams(context, options);
    if (options.mode == "alternate") return bench_client::run_alternate(context, options);
    return bench_client::run_rate(context, options);
}
