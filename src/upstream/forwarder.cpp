// The upstream exchange: connect (or reuse), send, read the head, relay the body piece by piece.
#include "llmgw/upstream/forwarder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>

#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;
using clock = std::chrono::steady_clock;

namespace {

bool is_timeout(const boost::system::error_code& ec) {
    return ec == beast::error::timeout || ec == net::error::timed_out;
}

// Errors that mean the server closed a kept-alive connection before reading our
// request; the request can go again on a fresh connection.
bool is_stale_connection(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe;
}

template <typename Duration>
clock::duration bounded(Duration timeout, clock::time_point total_deadline) {
    return std::max<clock::duration>(std::min<clock::duration>(timeout, total_deadline - clock::now()),
                                     clock::duration::zero());
}

// The upstream's headers minus those that describe its own connection and framing.
void copy_end_to_end_headers(const bhttp::fields& from, http::ResponseHead& to) {
    std::vector<std::string> listed;
    for (const auto& field : from) {  // every Connection line counts
        if (field.name() != bhttp::field::connection) continue;
        auto tokens = http::connection_tokens(field.value());
        listed.insert(listed.end(), tokens.begin(), tokens.end());
    }
    for (const auto& field : from) {
        const auto name = field.name_string();
        if (http::is_hop_by_hop(name) || http::iequals(name, "content-length")) continue;
        if (std::any_of(listed.begin(), listed.end(), [&](const std::string& t) { return http::iequals(t, name); }))
            continue;
        to.insert(field.name(), name, field.value());
    }
}

}  // namespace

Forwarder::Forwarder(ConnectionPool& pool, observability::Metrics& metrics) : pool_(pool), metrics_(metrics) {}

http::Task<ForwardOutcome> Forwarder::forward(http::Request& request, const config::Backend& backend,
                                              Balancer& balancer, http::ResponseWriter& client,
                                              observability::AccessRecord& record) {
    const auto& timeouts = backend.timeouts;
    const auto started = clock::now();
    const auto total_deadline = started + timeouts.total;
    const auto& endpoint = backend.endpoints[balancer.pick()];
    record.endpoint = endpoint.url;
    const bool ipv6 = endpoint.host.find(':') != std::string::npos;
    const auto host = ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
    request.set(bhttp::field::host, endpoint.port == 80 ? host : host + ":" + std::to_string(endpoint.port));
    request.version(11);
    request.keep_alive(true);

    auto fail = [&](std::string_view kind, http::GatewayError error) {
        metrics_.upstream_error(backend.name, kind);
        record.error = error.code;
        return ForwardOutcome{std::move(error)};
    };

    std::unique_ptr<UpstreamConnection> connection;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    // One more try on a fresh connection only when a pooled one turns out to have
    // been closed by the server before it answered anything.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const auto connect_timeout =
            std::chrono::ceil<std::chrono::milliseconds>(bounded(timeouts.connect, total_deadline));
        auto acquired = co_await pool_.acquire(endpoint, connect_timeout, /*fresh=*/attempt > 0);
        if (acquired.failure == ConnectFailure::timeout)
            co_return fail("connect_timeout", http::gateway_timeout("timed out connecting to the upstream",
                                                                     "upstream_connect_timeout"));
        if (acquired.failure != ConnectFailure::none)
            co_return fail("connect", http::bad_gateway("could not connect to the upstream"));
        connection = std::move(acquired.connection);
        auto& stream = connection->stream;

        // first_byte covers sending the request and waiting for the answer's head.
        const auto first_byte_deadline = std::min(clock::now() + timeouts.first_byte, total_deadline);
        stream.expires_at(first_byte_deadline);
        auto [write_ec, written] = co_await bhttp::async_write(stream, request, net::as_tuple(net::use_awaitable));
        boost::system::error_code ec = write_ec;
        if (!ec) {
            parser.emplace();
            parser->body_limit(boost::none);  // the answer is relayed, never held whole
            if (request.method() == bhttp::verb::head) parser->skip(true);
            stream.expires_at(first_byte_deadline);
            auto [read_ec, n] = co_await bhttp::async_read_header(stream, connection->buffer, *parser,
                                                                   net::as_tuple(net::use_awaitable));
            ec = read_ec;
        }
        if (!ec) break;
        if (connection->reused && attempt == 0 && is_stale_connection(ec)) continue;
        if (is_timeout(ec))
            co_return fail("timeout", http::gateway_timeout("the upstream did not answer in time",
                                                             "upstream_timeout"));
        if (is_stale_connection(ec))
            co_return fail("reset", http::bad_gateway("the upstream closed the connection", "upstream_reset"));
        co_return fail("invalid", http::bad_gateway("the upstream sent an invalid response", "upstream_invalid"));
    }

    auto& upstream = parser->get();
    record.upstream_first_byte = clock::now() - started;
    const auto status = upstream.result_int();
    if (status < 200 || status > 599)
        co_return fail("invalid", http::bad_gateway("the upstream sent an unsupported status",
                                                    "upstream_invalid"));

    http::ResponseHead head;
    head.result(status);
    copy_end_to_end_headers(upstream.base(), head);
    head.set("x-request-id", request["x-request-id"]);
    auto framing = http::ResponseWriter::Framing::chunked;
    if (parser->is_done() || parser->content_length()) {
        // A known length (or no body at all) is passed on as it is.
        framing = http::ResponseWriter::Framing::content_length;
        if (status != 204 && status != 304)
            head.set(bhttp::field::content_length, std::to_string(parser->content_length().value_or(0)));
    }
    record.stream = framing == http::ResponseWriter::Framing::chunked;
    // When body bytes came with the head, the head waits for them: one write, one segment.
    const auto timing = parser->is_done() || connection->buffer.size() > 0
                            ? http::ResponseWriter::HeadTiming::with_first_piece
                            : http::ResponseWriter::HeadTiming::now;
    const bool head_sent = co_await client.send_head(head, framing, timing);
    if (!head_sent) {
        record.error = "client_closed";
        co_return ForwardOutcome{};
    }

    // Each read's bytes go to the client before the next read: SSE events keep their pacing.
    std::array<char, 16 * 1024> piece;
    auto& stream = connection->stream;
    while (!parser->is_done()) {
        upstream.body().data = piece.data();
        upstream.body().size = piece.size();
        stream.expires_after(bounded(timeouts.idle, total_deadline));
        auto [ec, n] = co_await bhttp::async_read_some(stream, connection->buffer, *parser,
                                                        net::as_tuple(net::use_awaitable));
        const auto got = piece.size() - upstream.body().size;
        if (ec == bhttp::error::need_buffer) ec = {};
        bool relayed = true;
        if (got > 0) relayed = co_await client.send_body(std::string_view(piece.data(), got));
        if (!relayed) {
            record.error = "client_closed";
            co_return ForwardOutcome{};  // the connection is dropped with its unique_ptr
        }
        if (ec) {
            metrics_.upstream_error(backend.name, is_timeout(ec) ? "timeout" : "reset");
            record.error = is_timeout(ec) ? "upstream_timeout" : "upstream_reset";
            client.abort();
            co_return ForwardOutcome{};
        }
    }
    const bool finished = co_await client.finish();
    if (!finished) {
        record.error = "client_closed";
        co_return ForwardOutcome{};
    }
    if (upstream.keep_alive()) pool_.release(endpoint, std::move(connection));
    co_return ForwardOutcome{};
}

}  // namespace llmgw::upstream
