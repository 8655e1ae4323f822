// Reading the upstream body piece by piece into the answer relay.
#include "relay.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;

namespace {

Failure read_failure(const boost::system::error_code& ec, bool total_bound) {
    if (ec != beast::error::timeout && ec != net::error::timed_out) return Failure::reset;
    return total_bound ? Failure::total_timeout : Failure::idle_timeout;
}

}  // namespace

http::Task<Failure> relay_body(AttemptHead& attempt, http::AnswerRelay& relay,
                               const AttemptLimits& limits, http::HangUp& hang_up,
                               Clock::duration& own_time) {
    auto& connection = *attempt.connection;
    auto& parser = *attempt.parser;
    auto& body = parser.get().body();
    std::array<char, 16 * 1024> piece;
    hang_up.slot().assign([&connection](net::cancellation_type) {
        boost::system::error_code ignored;
        connection.stream.socket().close(ignored);
    });
    Failure failure = Failure::none;
    while (!parser.is_done()) {
        body.data = piece.data();
        body.size = piece.size();
        const auto idle_limit = limits.remaining(limits.timeouts.idle);
        const bool total_bound = idle_limit < Clock::duration(limits.timeouts.idle);
        connection.stream.expires_after(idle_limit);
        auto [ec, n] = co_await on_stream(connection, [&](auto& s) {
            return bhttp::async_read_some(s, connection.buffer, parser,
                                          net::as_tuple(net::use_awaitable));
        });
        const auto got = piece.size() - body.size;
        const auto read_at = Clock::now();
        if (ec == bhttp::error::need_buffer) ec = {};
        // A TLS server that ends a close-delimited body without close_notify: still the end.
        if (ec == net::ssl::error::stream_truncated && connection.tls) parser.put_eof(ec);
        if (hang_up.happened()) {
            failure = Failure::client_gone;
            break;
        }
        bool relayed = true;
        if (got > 0) relayed = co_await relay.send_body(std::string_view(piece.data(), got));
        own_time += Clock::now() - read_at;
        if (!relayed) {
            failure = Failure::client_gone;
            break;
        }
        if (ec) {
            failure = read_failure(ec, total_bound);
            break;
        }
    }
    hang_up.slot().clear();
    if (failure != Failure::none) co_return failure;
    const auto finish_at = Clock::now();
    const bool finished = co_await relay.finish();
    own_time += Clock::now() - finish_at;
    if (!finished) co_return Failure::client_gone;
    co_return Failure::none;
}

}  // namespace llmgw::upstream
