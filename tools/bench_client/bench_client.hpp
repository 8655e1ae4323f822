// What the bench client's two modes share: the command line and the request they send.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace bench_client {

struct Options {
    std::string mode;  // "streams" or "rate"
    boost::asio::ip::tcp::endpoint target;
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
};

// The HTTP/1.1 request both modes send, head and body.
std::string make_request(const Options& options);

// Opens options.streams SSE streams at once and reads each to its end; prints an OPEN line
// when every stream has its first event (or failed) and a STREAMS line at the end.
// Returns the process exit code.
int run_streams(boost::asio::io_context& context, const Options& options);

// Sends options.rate requests a second on a fixed schedule over options.connections
// keep-alive connections for options.duration_s; prints a RATE line. Returns the exit code.
int run_rate(boost::asio::io_context& context, const Options& options);

}  // namespace bench_client
