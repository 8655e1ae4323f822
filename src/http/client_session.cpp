// Reading requests off a client connection: header/body limits and timeouts, keep-alive.
#include "llmgw/http/client_session.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <new>
#include <optional>
#include <spdlog/spdlog.h>

#include "llmgw/http/connection_deadline.hpp"
#include "llmgw/http/draining_read.hpp"
#include "llmgw/http/hop_by_hop.hpp"
#include "llmgw/http/request_validation.hpp"
#include "llmgw/http/simple_request.hpp"
#include "llmgw/observability/request_id.hpp"

namespace llmgw::http {

namespace bhttp = beast::http;
using namespace net::experimental::awaitable_operators;

SessionLimits SessionLimits::from(const config::ServerConfig& server) {
    return {server.max_header_bytes, server.max_body_bytes, server.header_timeout,
            server.body_timeout, server.idle_timeout,
            std::make_shared<BodyBudget>(server.max_body_memory)};
}

std::optional<BodyRead> RequestBody::read_now() {
    if (!result_) result_ = read_now_(now_reader_);
    return result_;
}

Task<BodyRead> RequestBody::read() {
    if (!result_) result_ = co_await read_(reader_);
    co_return *result_;
}

namespace {

bool is_disconnect(const boost::system::error_code& ec) {
    // partial_message: the client closed in the middle of its own request.
    return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
           ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe || ec == net::error::operation_aborted ||
           ec == net::error::bad_descriptor ||
           ec == net::ssl::error::stream_truncated;  // a TLS client closed without close_notify
}

// The two kinds of client stream: what the response writer needs of each.
tcp::socket& tcp_layer(tcp::socket& socket) {
    return socket;
}
tcp::socket& tcp_layer(TlsSocket& stream) {
    return stream.next_layer();
}
TlsSocket* tls_of(tcp::socket&) {
    return nullptr;
}
TlsSocket* tls_of(TlsSocket& stream) {
    return &stream;
}

// Sends a gateway error for a request that could not be read, then the connection closes.
template <typename Stream>  // tcp::socket or TlsSocket
Task<void> refuse(Stream& stream, ConnectionDeadline& deadline, const SessionLimits& limits,
                  const ConnectionHandlers& handlers, const std::string& client_ip,
                  const bhttp::request_parser<bhttp::string_body>& parser,
                  std::chrono::steady_clock::time_point started, GatewayError error) {
    // The client's own id when the head got that far and it is sane.
    const auto client_id = parser.get()["x-request-id"];
    const auto request_id = observability::is_sane_request_id(client_id)
                                ? std::string(client_id)
                                : observability::generate_request_id();
    ResponseWriter writer(tcp_layer(stream), tls_of(stream), deadline, limits.idle_timeout, 11,
                          false, false);
    co_await writer.send_error(error, request_id);
    if (handlers.refused) {
        // The request line is known once parsed, even when a later header failed; else empty.
        handlers.refused(RefusedRequest{
            error, request_id, client_ip, std::string_view(parser.get().method_string()),
            std::string_view(parser.get().target()), started, writer.body_bytes()});
    }
}

// Checks each chunk of a chunked request body before it is read: extensions longer than
// kMaxChunkExtensionBytes (llmgw never reads them) are refused, and the body's share of the
// body budget grows ahead of the body, so a chunked body cannot outgrow the budget either.
struct ChunkGuard {
    std::string* body = nullptr;
    BodyBudget::Lease* lease = nullptr;
    std::size_t max_body_bytes = 0;
    bool over_budget = false;

    void operator()(std::uint64_t size, beast::string_view extensions,
                    boost::system::error_code& ec) {
        if (extensions.size() > kMaxChunkExtensionBytes) {
            ec = bhttp::error::bad_chunk_extension;
            return;
        }
        // Beast refuses a body over max_body_bytes itself; this only has to cover the string's
        // capacity, which grows by doubling.
        const auto need = body->size() + std::min<std::uint64_t>(size, max_body_bytes);
        if (need <= body->capacity()) return;
        const auto target = std::max<std::size_t>(need, std::min(2 * need, max_body_bytes));
        if (!lease->grow_to(target)) {
            over_budget = true;
            ec = bhttp::error::body_limit;
            return;
        }
        // Reserved here, where a failed allocation can be answered, not in the middle of
        // Beast's parsing (which would unwind through the event loop).
        try {
            body->reserve(target);
        } catch (const std::bad_alloc&) {
            over_budget = true;
            ec = bhttp::error::body_limit;
        }
    }
};

// Room in the read buffer beyond the request head: one read's worth. Beast bounds the head
// (header_limit) and the body (body_limit) but neither a chunk's size line with its extensions
// nor the trailer section; what the buffer cannot hold fails the read (buffer_overflow, 400)
// instead of growing memory for as long as body_timeout allows.
constexpr std::size_t kReadAheadBytes = 64 * 1024;

using RequestParser = bhttp::request_parser<bhttp::string_body>;

// The request being read: by Beast's parser, or whole, head and body, as a simple request
// (simple_request.hpp: most requests, without Beast's parsing). The message is the parser's
// either way.
struct RequestRead {
    RequestParser parser;
    ChunkGuard guard;  // the parser calls it for each chunk: it lives beside the parser
    bool simple = false;
    std::optional<std::uint64_t> simple_length;  // a simple request's Content-Length

    // Beast's parser within the limits, its chunked bodies within the body budget's `lease`.
    RequestRead(const SessionLimits& limits, BodyBudget::Lease& lease)
        : guard{&parser.get().body(), &lease, limits.max_body_bytes} {
        parser.header_limit(
            static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
        parser.body_limit(limits.max_body_bytes);
        parser.on_chunk_header(guard);
    }
    RequestRead(const RequestRead&) = delete;
    RequestRead& operator=(const RequestRead&) = delete;

    // The whole request, body included, has been read.
    bool done() const { return simple || parser.is_done(); }
    // Once the head is read.
    std::optional<std::uint64_t> content_length() const {
        if (simple) return simple_length;
        const auto length = parser.content_length();
        return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
    }
};

// Reads a simple request (simple_request.hpp) whole out of `buffer` into `read`, its body's
// memory taken from the body budget first. False when the buffer holds none: Beast's parser
// then reads the request from the same bytes (and refuses a body the budget cannot take).
bool read_simple_request(beast::flat_buffer& buffer, const SessionLimits& limits,
                         BodyBudget::Lease& lease, RequestRead& read) {
    SimpleRequest simple;
    const std::string_view in(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (!find_simple_request(in, limits.max_header_bytes, limits.max_body_bytes, simple))
        return false;
    if (!simple.body.empty() && !lease.grow_to(simple.body.size())) return false;
    try {
        simple.fill(read.parser.get());
    } catch (const std::bad_alloc&) {
        read.parser.get() = Request{};  // Beast's parser starts again from an empty message
        return false;
    }
    buffer.consume(simple.size);
    read.simple = true;
    read.simple_length = simple.content_length;
    return true;
}

// What the read for a request's first bytes asks the buffer for: most requests fit, and a
// block this size is recycled by the worker's thread cache (server/thread_cache_new.cpp), so
// the buffer can be let go of while each request is served and taken again for the next.
constexpr std::size_t kNextRequestRead = 4096;

// How long a request runs before its client's connection is watched for a hang-up: quick
// answers never pay for the watch.
constexpr auto kWatchPeerAfter = std::chrono::milliseconds(200);

// Parses what `buffer` already holds, as far as the parser gets without more input. A Beast
// read that completes from the buffer still costs its composed operation and a trip through
// the event loop (its completion is posted), and a keep-alive client's request usually comes
// whole in one segment: read once for the head, it leaves nothing for the head's or the
// body's read to wait for. True when the parser got where `eager` says (the head; with it, the
// whole message) or refused the input (`ec`); false when bytes must be read (Beast's read
// then goes on from here, with the same parser and buffer).
// `consumed` (when given) counts the bytes the parser took.
bool parse_buffered(RequestParser& parser, beast::flat_buffer& buffer, bool eager,
                    boost::system::error_code& ec, std::size_t* consumed = nullptr) {
    parser.eager(eager);
    const auto done = [&] { return eager ? parser.is_done() : parser.is_header_done(); };
    ec = {};
    while (!done() && buffer.size() > 0) {
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (consumed != nullptr) *consumed += used;
        if (ec == bhttp::error::need_more) {
            ec = {};
            return false;
        }
        if (ec) return true;
        if (used == 0) return false;
    }
    return done();
}

// The body's memory, taken before Beast parses into it: a failed allocation is a refusal here,
// while inside Beast's parsing it would unwind through the event loop.
bool reserve(std::string& body, std::size_t bytes) {
    try {
        body.reserve(bytes);
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

// Before the body's first byte is read: a body already complete, or a declared length the body
// budget cannot take (taken before any byte is read, and before any 100 Continue).
std::optional<BodyRead> body_before_reading(RequestRead& read, BodyBudget::Lease& lease) {
    if (read.done()) return BodyRead{true, {}};  // no body, or a simple request's, read whole
    auto& parser = read.parser;
    if (const auto length = parser.content_length()) {
        if (!lease.grow_to(*length) || !reserve(parser.get().body(), *length))
            return BodyRead{false, make_error(ErrorCode::server_busy)};
    }
    return std::nullopt;
}

// What reading the body came to: `ec` from the parse or the read, `expired` when the body
// timeout ran out, `fields_in_head` the head's field count.
BodyRead body_outcome(const boost::system::error_code& ec, bool expired, const ChunkGuard& guard,
                      const SessionLimits& limits, const RequestParser& parser,
                      std::size_t fields_in_head) {
    if (ec && expired) return BodyRead{false, make_error(ErrorCode::request_timeout, "the request body did not arrive in time")};
    if (ec && guard.over_budget) return BodyRead{false, make_error(ErrorCode::server_busy)};
    if (ec == bhttp::error::body_limit) return BodyRead{false, payload_too_large(limits.max_body_bytes)};
    if (ec && is_disconnect(ec)) return BodyRead{};
    if (ec)
        return BodyRead{false, make_error(ErrorCode::malformed_request,
                                          "malformed HTTP request body: " + ec.message())};
    // Beast adds trailer fields to the head that was validated before the body (a second
    // Host, say); no LLM client sends request trailers.
    if (field_count(parser.get().base()) != fields_in_head)
        return BodyRead{false, make_error(ErrorCode::malformed_request,
                                          "trailer fields in a request are not accepted")};
    return BodyRead{true, {}};
}

bool expects_continue(const RequestParser& parser) {
    return iequals(parser.get()[bhttp::field::expect], "100-continue");
}

// The body, when the buffer holds all of it (a client's request usually comes whole in one
// segment): read without a read, nor a coroutine. Nullopt when bytes must be read (read_body
// then goes on from where the parser got) or a 100 Continue must go first.
std::optional<BodyRead> read_body_now(beast::flat_buffer& buffer, RequestRead& read,
                                      const SessionLimits& limits, BodyBudget::Lease& lease) {
    if (auto decided = body_before_reading(read, lease)) return decided;
    auto& parser = read.parser;
    if (expects_continue(parser)) return std::nullopt;
    const auto fields_in_head = field_count(parser.get().base());
    boost::system::error_code ec;
    if (!parse_buffered(parser, buffer, /*eager=*/true, ec)) return std::nullopt;
    return body_outcome(ec, false, read.guard, limits, parser, fields_in_head);
}

// Reads the body of the request whose head `read` holds, within max_body_bytes, body_timeout
// and the body budget: a declared length is taken from the budget before the first body byte
// is read (and before any 100 Continue), a chunked body chunk by chunk (ChunkGuard).
template <typename Stream>  // tcp::socket or TlsSocket
Task<BodyRead> read_body(Stream& socket, beast::flat_buffer& buffer, RequestRead& read,
                         ConnectionDeadline& deadline, const SessionLimits& limits,
                         BodyBudget::Lease& lease) {
    if (auto decided = body_before_reading(read, lease)) co_return *decided;
    auto& parser = read.parser;
    const auto fields_in_head = field_count(parser.get().base());
    if (expects_continue(parser)) {
        static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [write_ec, written] = co_await net::async_write(socket, net::buffer(go_on),
                                                             net::as_tuple(http::use_awaitable));
        if (write_ec) co_return BodyRead{};
    }
    boost::system::error_code ec;
    bool expired = false;
    if (!parse_buffered(parser, buffer, /*eager=*/true, ec)) {
        deadline.expires_after(limits.body_timeout);
        auto [read_ec, n] =
            co_await bhttp::async_read(socket, buffer, parser, net::as_tuple(http::use_awaitable));
        ec = read_ec;
        expired = deadline.expired();
        deadline.never();
    }
    co_return body_outcome(ec, expired, read.guard, limits, parser, fields_in_head);
}

// Reads one request head within the limits; a refusal when it cannot be served (the
// connection then closes), nothing when it is valid or the client went away (`ec` says which).
std::optional<GatewayError> check_head(const boost::system::error_code& ec,
                                       const RequestRead& read, const ConnectionDeadline& deadline,
                                       const SessionLimits& limits) {
    if (ec) {
        if (deadline.expired()) return make_error(ErrorCode::request_timeout, "the request head did not arrive in time");
        if (ec == bhttp::error::header_limit) return headers_too_large(limits.max_header_bytes);
        if (ec == bhttp::error::body_limit)
            return payload_too_large(limits.max_body_bytes);  // declared length
        if (!is_disconnect(ec))
            return make_error(ErrorCode::malformed_request, "malformed HTTP request: " + ec.message());
        return std::nullopt;
    }
    // Before the body is read: an ambiguous message is never forwarded.
    if (auto invalid = validate_request_head(read.parser.get().base())) return invalid;
    if (const auto length = read.content_length(); length && *length > limits.max_body_bytes)
        return payload_too_large(limits.max_body_bytes);
    return std::nullopt;
}

// The handler's call, where an allocation that fails (a body over what the process may map,
// say) ends this connection, never the process. False then.
Task<bool> call_handler(const ConnectionHandlers& handlers, Request& request,
                        const std::string& client_ip, ResponseWriter& writer, RequestBody& body) {
    try {
        co_await handlers.request(request, client_ip, writer, body);
        co_return true;
    } catch (const std::bad_alloc&) {
        spdlog::warn("out of memory while serving a request: its connection is closed");
    }
    co_return false;
}

// Absolute-form: its authority replaces Host (RFC 9112 §3.2.2), so x-forwarded-host names the
// host the client asked for; routes match paths.
void to_origin_form(Request& request) {
    const auto target = std::string_view(request.target());
    if (target.starts_with('/')) return;
    request.set(bhttp::field::host, std::string(target_authority(target)));
    request.target(origin_form(target));
}

// What reads the first bytes of each next request. Plain TCP reads without a try that would
// find nothing when the last read drained the socket (draining_read.hpp); TLS reads its records.
DrainingReader next_request_reader(tcp::socket& socket) { return DrainingReader(socket); }
struct TlsReader {
    TlsSocket& stream;
    template <typename Token>
    auto async_read_some(net::mutable_buffer buffer, Token&& token) {
        return stream.async_read_some(buffer, std::forward<Token>(token));
    }
};
TlsReader next_request_reader(TlsSocket& stream) { return {stream}; }

template <typename Stream>  // tcp::socket or TlsSocket
Task<void> read_requests(Stream& socket, ConnectionDeadline& deadline, const SessionLimits& limits,
                         const ConnectionHandlers& handlers, std::string client_ip) {
    beast::flat_buffer buffer;
    buffer.max_size(std::min(limits.max_header_bytes, std::size_t{UINT32_MAX}) + kReadAheadBytes);
    auto next_request = next_request_reader(socket);
    for (bool first = true;; first = false) {
        if (!first && buffer.size() == 0) {
            // Between requests only the idle timeout applies; the header timeout starts
            // with the first byte of the next request.
            // Reading (rather than waiting for readability) gets a pipelined or quick next
            // request in the same system call.
            deadline.expires_after(limits.idle_timeout);
            auto [ec, n] = co_await next_request.async_read_some(
                buffer.prepare(kNextRequestRead), net::as_tuple(http::use_awaitable));
            if (ec) co_return;
            buffer.commit(n);
        }
        const auto started = std::chrono::steady_clock::now();
        deadline.expires_at(started + limits.header_timeout);
        BodyBudget::Lease lease = limits.body_budget ? BodyBudget::Lease(*limits.body_budget)
                                                     : BodyBudget::Lease();
        RequestRead read(limits, lease);
        boost::system::error_code ec;
        if (buffer.size() == 0) {
            // A connection's first bytes, read as each next request's are: one read, and a
            // simple request whole in it is read without Beast's parser.
            auto [read_ec, n] = co_await next_request.async_read_some(
                buffer.prepare(kNextRequestRead), net::as_tuple(http::use_awaitable));
            ec = read_ec;
            buffer.commit(n);
        }
        std::size_t head_bytes = 0;
        if (!ec && !read_simple_request(buffer, limits, lease, read) &&
            !parse_buffered(read.parser, buffer, /*eager=*/false, ec, &head_bytes)) {
            auto [read_ec, n] = co_await bhttp::async_read_header(
                socket, buffer, read.parser, net::as_tuple(http::use_awaitable));
            ec = read_ec;
            head_bytes += n;
        }
        // Beast's header limit bounds what one parse of the buffer sees, and a parse keeps the
        // whole field lines it got: a head that came in pieces can pass it by up to its size.
        if (!ec && head_bytes > limits.max_header_bytes) ec = bhttp::error::header_limit;
        if (auto refusal = check_head(ec, read, deadline, limits)) {
            co_await refuse(socket, deadline, limits, handlers, client_ip, read.parser, started,
                            *refusal);
            co_return;
        }
        if (ec) co_return;  // the client went away
        deadline.never();
        auto& request = read.parser.get();
        to_origin_form(request);
        ResponseWriter writer(tcp_layer(socket), tls_of(socket), deadline, limits.idle_timeout,
                              request.version(), request.keep_alive(),
                              request.method() == bhttp::verb::head);
        // Once the body is read: an emptied buffer is not held while the request is served (a
        // stream's, minutes; issue 17). From then on the client has nothing to send: it
        // reading nothing more means gone.
        const auto body_read = [&](const BodyRead& result) {
            if (buffer.size() == 0) buffer.shrink_to_fit();
            if (result.complete)
                deadline.watch_peer(writer.hang_up(), kWatchPeerAfter, tls_of(socket) != nullptr);
        };
        auto read_now = [&]() -> std::optional<BodyRead> {
            auto result = read_body_now(buffer, read, limits, lease);
            if (result) body_read(*result);
            return result;
        };
        auto read_later = [&]() -> Task<BodyRead> {
            auto result = co_await read_body(socket, buffer, read, deadline, limits, lease);
            body_read(result);
            co_return result;
        };
        RequestBody body(!read.done(), read_now, read_later);
        const bool served = co_await call_handler(handlers, request, client_ip, writer, body);
        deadline.stop_watching_peer();
        if (!served) co_return;
        // A body left unread (a request refused on its head) cannot be told from the next request.
        if (!writer.keep_alive() || !read.done()) co_return;
    }
}

// Reads and drops what the client still sends, up to its close or a bound (raw bytes: after
// close_notify nothing more is decrypted).
Task<void> discard_input(tcp::socket& socket) {
    std::array<char, 16 * 1024> sink;
    for (std::size_t total = 0; total < 1024 * 1024;) {
        auto [ec, n] =
            co_await socket.async_read_some(net::buffer(sink), net::as_tuple(http::use_awaitable));
        if (ec) co_return;
        total += n;
    }
}

}  // namespace

Task<void> serve_connection(tcp::socket socket, const SessionLimits& limits,
                            const ConnectionHandlers& handlers) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true), ec);
    ConnectionDeadline deadline(socket);
    deadline.start();
    co_await read_requests(socket, deadline, limits, handlers, peer.address().to_string());
    deadline.stop();
    if (!socket.is_open()) co_return;
    // Lingering close: closing with unread request bytes makes the kernel send a reset,
    // which can destroy an error answer (413, 408) before the client reads it.
    socket.shutdown(tcp::socket::shutdown_send, ec);
    http::Timer linger(socket.get_executor(), std::chrono::seconds(1));
    co_await (discard_input(socket) || linger.async_wait(http::use_awaitable));
    socket.close(ec);
}

namespace {

// A plain HTTP request on the TLS port: answered in plain text so the mistake is obvious.
Task<void> refuse_plain_http(tcp::socket& socket) {
    const auto body = error_body(make_error(ErrorCode::plain_http_to_https_port));
    const auto answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    co_await net::async_write(socket, net::buffer(answer), net::as_tuple(http::use_awaitable));
}

// The handshake, bounded by the header timeout, then the requests. Sets `secured` once the
// handshake succeeded.
Task<void> handshake_and_serve(TlsSocket& stream, ConnectionDeadline& deadline,
                               const SessionLimits& limits, const ConnectionHandlers& handlers,
                               std::string client_ip, bool& secured) {
    deadline.expires_after(limits.header_timeout);
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server,
                                                net::as_tuple(http::use_awaitable));
    if (ec) {
        if (!deadline.expired() && ec.category() == net::error::get_ssl_category() &&
            ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST)
            co_await refuse_plain_http(stream.next_layer());
        co_return;
    }
    secured = true;
    co_await read_requests(stream, deadline, limits, handlers, std::move(client_ip));
}

}  // namespace

Task<void> serve_tls_connection(tcp::socket socket, std::shared_ptr<net::ssl::context> context,
                                const SessionLimits& limits, const ConnectionHandlers& handlers) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true), ec);
    TlsSocket stream(std::move(socket), *context);
    auto& raw = stream.next_layer();
    ConnectionDeadline deadline(raw);
    bool secured = false;
    deadline.start();
    co_await handshake_and_serve(stream, deadline, limits, handlers, peer.address().to_string(),
                                 secured);
    deadline.stop();
    if (!raw.is_open()) co_return;
    http::Timer linger(raw.get_executor(), std::chrono::seconds(1));
    // close_notify first, so the client can tell our close from a cut connection; then the
    // same lingering close as plain TCP, all within one second.
    if (secured && !deadline.expired())
        co_await (stream.async_shutdown(net::as_tuple(http::use_awaitable)) ||
                  linger.async_wait(net::as_tuple(http::use_awaitable)));
    raw.shutdown(tcp::socket::shutdown_send, ec);
    co_await (discard_input(raw) || linger.async_wait(http::use_awaitable));
    raw.close(ec);
}

}  // namespace llmgw::http
