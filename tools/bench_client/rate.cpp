// The rate mode: requests on a fixed schedule (open loop), latency counted from each request's
// scheduled time, so a server that falls behind shows in the latency and not as a lower rate.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "coroutine_io.hpp"

namespace bench_client {
namespace {

struct Tally {
    Clock::time_point start;
    Clock::time_point last_answer;
    std::uint64_t next = 0;   // the next slot of the schedule
    std::uint64_t total = 0;  // slots in the run
    double rate = 0;
    std::vector<std::uint32_t> latency_us;
    std::uint64_t late = 0;  // sent more than 1 ms after their slot: no connection was free
    std::uint64_t non2xx = 0;
    std::uint64_t errors = 0;
};

// One keep-alive connection taking the next free slot of the schedule, until the run ends.
asio::awaitable<void> connection(const Options& options, const std::string& request, Tally& tally) {
    auto executor = co_await asio::this_coro::executor;
    tcp::socket socket(executor);
    auto [connect_error] = co_await socket.async_connect(options.target, use_tuple);
    if (connect_error) {
        ++tally.errors;
        co_return;
    }
    socket.set_option(tcp::no_delay(true));
    asio::steady_timer pause(executor);
    boost::beast::flat_buffer buffer;
    for (std::uint64_t slot = tally.next++; slot < tally.total; slot = tally.next++) {
        const auto due = tally.start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(slot / tally.rate));
        if (due > Clock::now()) {
            pause.expires_at(due);
            co_await pause.async_wait(use_tuple);
        } else if (Clock::now() - due > std::chrono::milliseconds(1)) {
            ++tally.late;
        }
        auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
        http::response_parser<http::string_body> parser;
        auto [read_error, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
        if (write_error || read_error) {
            ++tally.errors;
            co_return;
        }
        const unsigned status = parser.get().result_int();
        if (status < 200 || status > 299) ++tally.non2xx;
        tally.last_answer = Clock::now();
        tally.latency_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(tally.last_answer - due).count()));
    }
}


}  // namespace

int run_rate(asio::io_context& context, const Options& options) {
    const std::string request = make_request(options);
    Tally tally;
    tally.rate = options.rate;
    tally.total = static_cast<std::uint64_t>(options.rate * options.duration_s);
    tally.latency_us.reserve(tally.total);
    tally.start = Clock::now() + std::chrono::milliseconds(100);  // after the connects
    tally.last_answer = tally.start;
    for (int i = 0; i < options.connections; ++i)
        asio::co_spawn(context, connection(options, request, tally), asio::detached);
    context.run();
    const double seconds = std::chrono::duration<double>(tally.last_answer - tally.start).count();
    const auto requests = tally.latency_us.size();
    const auto max = requests > 0 ? *std::max_element(tally.latency_us.begin(), tally.latency_us.end()) : 0u;
    const auto p50 = percentile(tally.latency_us, 0.50);
    const auto p99 = percentile(tally.latency_us, 0.99);
    std::printf("RATE requests=%zu rps=%.1f p50_us=%u p99_us=%u max_us=%u late=%llu non2xx=%llu "
                "errors=%llu\n",
                requests, seconds > 0 ? static_cast<double>(requests) / seconds : 0.0, p50, p99, max,
                static_cast<unsigned long long>(tally.late),
                static_cast<unsigned long long>(tally.non2xx),
                static_cast<unsigned long long>(tally.errors));
    std::fflush(stdout);
    return tally.errors == 0 && tally.non2xx == 0 ? 0 : 1;
}

}  // namespace bench_client
