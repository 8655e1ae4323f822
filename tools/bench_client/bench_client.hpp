// What the bench client's two modes share: the command line and the request they send.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace bench_client {

// A target of the alternate mode: `--target NAME=HOST:PORT`.
struct NamedTarget {
    std::string name;
    boost::asio::ip::tcp::endpoint endpoint;
};

struct Options {
    std::string mode;  // "streams", "rate" or "alternate"
    boost::asio::ip::tcp::endpoint target;
    std::vector<NamedTarget> endpoints;  // every --target given, in order
    std::string path = "/v1/chat/completions";
    std::string body;
    std::string headers;  // extra header lines, each ending in \r\n
    // streams
    int streams = 1000;
    int max_pending = 256;  // streams connecting or waiting for their first event
    int timeout_s = 120;    // streams not done by then count as lost
    // rate
    double rate = 1000;  // requests per second, on a fixed schedule
    int connections = 16;
    int duration_s = 10;
    // alternate (duration_s too)
    int rounds = 1;
};

// The HTTP/1.1 request the modes send, head and body, to options.target or to `target`.
std::string make_request(const Options& options);
std::string make_request(const Options& options, const boost::asio::ip::tcp::endpoint& target);

// The q-quantile (0 to 1) of latencies: the value at that rank. Reorders `values`.
std::uint32_t percentile(std::vector<std::uint32_t>& values, double q);

// Opens options.streams SSE streams at once and reads each to its end; prints an OPEN line
// when every stream has its first event (or failed) and a STREAMS line at the end.
// Returns the process exit code.
int run_streams(boost::asio::io_context& context, const Options& options);

// Sends options.rate requests a second on a fixed schedule over options.connections
// keep-alive connections for options.duration_s; prints a RATE line. Returns the exit code.
int run_rate(boost::asio::io_context& context, const Options& options);

// Sends one request at a time, to each of options.endpoints in turn (each cycle starting one
// further along), for options.duration_s split into options.rounds rounds; prints a ROUND line
// per target and round, then an ALL line per target. Returns the exit code.
int run_alternate(boost::asio::io_context& context, const Options& options);

}  // namespace bench_client
