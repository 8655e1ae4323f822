// POSTing encoded spans to a collector over a fresh connection, TLS when the URL is https.
#include "llmgw/tracing/collector_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

#include "llmgw/tls/client_context.hpp"

namespace llmgw::tracing {

namespace {

namespace net = http::net;
namespace bhttp = http::beast::http;
using http::tcp;

// The body is the batch's own buffer: sent again on a retry, never copied.
using ExportRequest = bhttp::request<bhttp::span_body<const char>>;

ExportRequest export_request(const config::TracingConfig& tracing, std::string_view body) {
    ExportRequest request{bhttp::verb::post, tracing.path, 11};
    const auto& collector = tracing.collector;
    const bool default_port = collector.port == (collector.tls ? 443 : 80);
    request.set(bhttp::field::host, default_port
                                        ? collector.host
                                        : collector.host + ":" + std::to_string(collector.port));
    request.set(bhttp::field::content_type, "application/x-protobuf");
    request.set(bhttp::field::user_agent, "llmgw");
    for (const auto& [name, value] : tracing.headers) request.set(name, value);
    request.keep_alive(false);
    request.body() = {body.data(), body.size()};
    request.prepare_payload();
    return request;
}

template <typename Stream>
http::Task<ExportResult> exchange(Stream& stream, ExportRequest& request) {
    ExportResult result;
    auto [write_ec, written] =
        co_await bhttp::async_write(stream, request, net::as_tuple(http::use_awaitable));
    if (write_ec) {
        result.failure = "write: " + write_ec.message();
        co_return result;
    }
    http::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    auto [read_ec, read] =
        co_await bhttp::async_read(stream, buffer, response, net::as_tuple(http::use_awaitable));
    if (read_ec) {
        result.failure = "read: " + read_ec.message();
        co_return result;
    }
    result.status = static_cast<int>(response.result_int());
    const auto retry_after = std::string_view(response[bhttp::field::retry_after]);
    std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(),
                    result.retry_after_seconds);
    co_return result;
}

}  // namespace

http::Task<ExportResult> post_spans(const config::TracingConfig& tracing, tls::ClientContext* tls,
                                    std::string_view body) {
    auto executor = co_await net::this_coro::executor;
    const auto& collector = tracing.collector;
    http::TcpStream stream(executor);
    stream.expires_after(tracing.timeout);
    tcp::resolver resolver(executor);
    auto [resolve_ec, found] = co_await resolver.async_resolve(
        collector.host, std::to_string(collector.port), net::as_tuple(http::use_awaitable));
    if (resolve_ec) co_return ExportResult{0, "resolve: " + resolve_ec.message()};
    auto [connect_ec, ignored] =
        co_await stream.async_connect(found, net::as_tuple(http::use_awaitable));
    if (connect_ec) co_return ExportResult{0, "connect: " + connect_ec.message()};
    auto request = export_request(tracing, body);
    if (!collector.tls) {
        auto result = co_await exchange(stream, request);
        co_return result;
    }
    if (tls == nullptr) co_return ExportResult{0, "no TLS context"};
    net::ssl::stream<http::TcpStream&> secure(stream, tls->context());
    if (!tls->prepare(secure.native_handle(), collector.host))
        co_return ExportResult{0, "OpenSSL refuses the TLS server name"};
    auto [handshake_ec] = co_await secure.async_handshake(net::ssl::stream_base::client,
                                                          net::as_tuple(http::use_awaitable));
    if (handshake_ec)
        co_return ExportResult{
            0, "TLS handshake: " +
                   tls::handshake_failure(secure.native_handle(), handshake_ec.message())};
    auto result = co_await exchange(secure, request);
    co_return result;
}

}  // namespace llmgw::tracing
