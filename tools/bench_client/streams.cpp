// The streams mode: many SSE streams open at once, each read to its end and checked for its
// closing "data: [DONE]"; the opening is throttled so no listen backlog overflows.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "coroutine_io.hpp"

namespace bench_client {
namespace {

struct Tally {
    int requested = 0;
    int pending = 0;  // connecting or waiting for the first event
    int opened = 0;   // got their first event
    int failed_before_open = 0;
    int finished = 0;
    int completed = 0;
    int connect_errors = 0;
    int http_errors = 0;  // a status other than 200
    std::map<unsigned, int> statuses;  // of those, by status
    int cut = 0;          // ended (or broke) without "data: [DONE]" and the body's end
    std::uint64_t events = 0;
    bool open_reported = false;
    Clock::time_point start = Clock::now();
    asio::steady_timer* deadline = nullptr;
};

long elapsed_ms(const Tally& tally) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 Clock::now() - tally.start)
                                 .count());
}

void report_open_when_all(Tally& tally) {
    if (tally.open_reported || tally.opened + tally.failed_before_open < tally.requested) return;
    tally.open_reported = true;
    // finished: streams already over (completed or not), so not open at this moment.
    std::printf("OPEN opened=%d failed=%d finished=%d events=%llu elapsed_ms=%ld\n", tally.opened,
                tally.failed_before_open, tally.finished, static_cast<unsigned long long>(tally.events),
                elapsed_ms(tally));
    std::fflush(stdout);
}

// Counts SSE "data:" lines and remembers whether the last one was "data: [DONE]". Only a
// line's first bytes are kept: enough to tell [DONE] apart.
class SseScan {
public:
    // Returns how many events ended in these bytes.
    int feed(const char* data, std::size_t size) {
        int events = 0;
        for (std::size_t i = 0; i < size; ++i) {
            const char c = data[i];
            if (c != '\n') {
                if (length_ < sizeof line_) line_[length_] = c;
                ++length_;
                continue;
            }
            std::string_view line(line_, std::min(length_, sizeof line_));
            if (length_ <= sizeof line_ && line.ends_with('\r')) line.remove_suffix(1);
            if (line.starts_with("data:")) {
                ++events;
                last_done_ = length_ <= sizeof line_ && line == "data: [DONE]";
            }
            length_ = 0;
        }
        return events;
    }
    bool last_done() const { return last_done_; }

private:
    char line_[24];
    std::size_t length_ = 0;
    bool last_done_ = false;
};

enum class Outcome { completed, connect_error, http_error, cut };

// One stream, from connect to the end of its body. `opened` is set at its first event.
asio::awaitable<Outcome> read_stream(tcp::socket& socket, const Options& options,
                                     const std::string& request, Tally& tally, bool& opened) {
    auto [connect_error] = co_await socket.async_connect(options.target, use_tuple);
    if (connect_error) co_return Outcome::connect_error;
    auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
    if (write_error) co_return Outcome::cut;
    boost::beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [head_error, head_bytes] = co_await http::async_read_header(socket, buffer, parser, use_tuple);
    if (head_error) co_return Outcome::cut;
    if (parser.get().result_int() != 200) {
        ++tally.statuses[parser.get().result_int()];
        co_return Outcome::http_error;
    }
    char data[2048];
    SseScan scan;
    while (!parser.is_done()) {
        parser.get().body().data = data;
        parser.get().body().size = sizeof data;
        // read_some: back after each read, so an event is seen when it arrives.
        auto [error, bytes] = co_await http::async_read_some(socket, buffer, parser, use_tuple);
        const std::size_t got = sizeof data - parser.get().body().size;
        const int events = scan.feed(data, got);
        tally.events += static_cast<std::uint64_t>(events);
        if (events > 0 && !opened) {
            opened = true;
            --tally.pending;
            ++tally.opened;
            report_open_when_all(tally);
        }
        if (error && error != http::error::need_buffer) co_return Outcome::cut;
    }
    co_return scan.last_done() ? Outcome::completed : Outcome::cut;
}

asio::awaitable<void> one_stream(const Options& options, const std::string& request, Tally& tally) {
    tcp::socket socket(co_await asio::this_coro::executor);
    bool opened = false;
    const Outcome outcome = co_await read_stream(socket, options, request, tally, opened);
    boost::system::error_code ignored;
    socket.close(ignored);
    if (!opened) {
        --tally.pending;
        ++tally.failed_before_open;
        report_open_when_all(tally);
    }
    if (outcome == Outcome::completed) ++tally.completed;
    if (outcome == Outcome::connect_error) ++tally.connect_errors;
    if (outcome == Outcome::http_error) ++tally.http_errors;
    if (outcome == Outcome::cut) ++tally.cut;
    if (++tally.finished == tally.requested) tally.deadline->cancel();
}

// Starts the streams, never more than options.max_pending before their first event.
asio::awaitable<void> launch(const Options& options, const std::string& request, Tally& tally) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor);
    for (int i = 0; i < options.streams; ++i) {
        while (tally.pending >= options.max_pending) {
            pause.expires_after(std::chrono::milliseconds(1));
            co_await pause.async_wait(use_tuple);
        }
        ++tally.pending;
        asio::co_spawn(executor, one_stream(options, request, tally), asio::detached);
    }
}

}  // namespace

int run_streams(asio::io_context& context, const Options& options) {
    const std::string request = make_request(options);
    Tally tally;
    tally.requested = options.streams;
    asio::steady_timer deadline(context, std::chrono::seconds(options.timeout_s));
    tally.deadline = &deadline;
    bool timed_out = false;
    deadline.async_wait([&](boost::system::error_code error) {
        if (error) return;  // cancelled: every stream finished
        timed_out = true;
        context.stop();
    });
    asio::co_spawn(context, launch(options, request, tally), asio::detached);
    context.run();
    const int unfinished = tally.requested - tally.finished;
    const int lost = tally.requested - tally.completed;
    std::string statuses;  // "503:12,502:3", or "-"
    for (const auto& [status, count] : tally.statuses)
        statuses += (statuses.empty() ? "" : ",") + std::to_string(status) + ":" + std::to_string(count);
    std::printf("STREAMS requested=%d opened=%d completed=%d lost=%d events=%llu connect_errors=%d "
                "http_errors=%d statuses=%s cut=%d timed_out=%d elapsed_ms=%ld\n",
                tally.requested, tally.opened, tally.completed, lost,
                static_cast<unsigned long long>(tally.events), tally.connect_errors,
                tally.http_errors, statuses.empty() ? "-" : statuses.c_str(), tally.cut,
                timed_out ? unfinished : 0, elapsed_ms(tally));
    std::fflush(stdout);
    return lost == 0 ? 0 : 1;
}

}  // namespace bench_client
