// The alternate mode: one request at a time, to each target in turn (a rotating order), so that
// the targets compared at concurrency 1 share the machine's hiccups request by request, not
// second by second as consecutive runs do.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "coroutine_io.hpp"

namespace bench_client {
namespace {

struct Target {
    Target(asio::io_context& context, const Options& options, const NamedTarget& named)
        : name(named.name),
          endpoint(named.endpoint),
          request(make_request(options, named.endpoint)),
          socket(context) {}
    std::string name;
    tcp::endpoint endpoint;
    std::string request;
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    std::vector<std::uint32_t> round;  // this round's latencies (us)
    std::vector<std::uint32_t> all;
    std::uint64_t non2xx = 0;
    std::uint64_t errors = 0;
};
using Targets = std::vector<std::unique_ptr<Target>>;


void print(const char* what, int round, const Target& target, std::vector<std::uint32_t>& values) {
    const auto max = values.empty() ? 0u : *std::max_element(values.begin(), values.end());
    std::printf("%s round=%d name=%s requests=%zu p50_us=%u p90_us=%u p99_us=%u p999_us=%u "
                "max_us=%u non2xx=%llu errors=%llu\n",
                what, round, target.name.c_str(), values.size(), percentile(values, 0.50),
                percentile(values, 0.90), percentile(values, 0.99), percentile(values, 0.999), max,
                static_cast<unsigned long long>(target.non2xx),
                static_cast<unsigned long long>(target.errors));
}

// One request and its answer on the target's connection; false when it failed.
asio::awaitable<bool> exchange(Target& target) {
    const auto sent = Clock::now();
    auto [write_error, written] =
        co_await asio::async_write(target.socket, asio::buffer(target.request), use_tuple);
    if (write_error) co_return false;
    http::response_parser<http::string_body> parser;
    auto [read_error, read] = co_await http::async_read(target.socket, target.buffer, parser, use_tuple);
    if (read_error) co_return false;
    const unsigned status = parser.get().result_int();
    if (status < 200 || status > 299) ++target.non2xx;
    target.round.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count()));
    co_return true;
}

asio::awaitable<void> alternate(const Options& options, Targets& targets, int& exit_code) {
    for (auto& target : targets) {
        auto [error] = co_await target->socket.async_connect(target->endpoint, use_tuple);
        if (error) {
            std::fprintf(stderr, "llmgw-bench-client: %s: cannot connect\n", target->name.c_str());
            exit_code = 1;
            co_return;
        }
        target->socket.set_option(tcp::no_delay(true));
    }
    const auto round_time = std::chrono::duration<double>(options.duration_s) / options.rounds;
    const auto n = targets.size();
    for (int round = 1; round <= options.rounds; ++round) {
        const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(round_time);
        for (std::size_t cycle = 0; Clock::now() < end; ++cycle) {
            for (std::size_t i = 0; i < n; ++i) {
                auto& target = *targets[(cycle + i) % n];
                if (!co_await exchange(target)) {
                    std::fprintf(stderr, "llmgw-bench-client: %s: the request failed\n",
                                 target.name.c_str());
                    ++target.errors;
                    exit_code = 1;
                    co_return;
                }
            }
        }
        for (auto& target : targets) {
            print("ROUND", round, *target, target->round);
            target->all.insert(target->all.end(), target->round.begin(), target->round.end());
            target->round.clear();
        }
    }
    for (auto& target : targets) print("ALL", 0, *target, target->all);
    std::fflush(stdout);
}

}  // namespace

int run_alternate(asio::io_context& context, const Options& options) {
    Targets targets;
    for (const auto& named : options.endpoints)
        targets.push_back(std::make_unique<Target>(context, options, named));
    int exit_code = 0;
    asio::co_spawn(context, alternate(options, targets, exit_code), asio::detached);
    context.run();
    for (const auto& target : targets)
        if (target->non2xx != 0) exit_code = 1;
    return exit_code;
}

}  // namespace bench_client
