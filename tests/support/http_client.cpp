// The test HTTP client: Asio sockets driven with a deadline per operation, Beast's parser
// for responses (Content-Length, chunked, close-delimited, 1xx).
#include "support/http_client.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstdio>
#include <functional>
#include <sstream>

namespace llmgw::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

long long millis(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The start of `raw`, printable, for error messages.
std::string excerpt(std::string_view raw, std::size_t limit = 400) {
    std::string out = "\"";
    for (char c : raw.substr(0, limit)) {
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (std::isprint(static_cast<unsigned char>(c))) {
            out += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
            out += hex;
        }
    }
    out += "\"";
    if (raw.size() > limit) out += "... (" + std::to_string(raw.size()) + " bytes)";
    return out;
}

// A loopback TCP socket whose blocking operations each end by a deadline. Each operation
// is started asynchronously and its io_context run until the deadline; an operation still
// pending then is cancelled (the socket stays usable).
class Socket {
public:
    void connect(uint16_t port, Clock::time_point until) {
        const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
        std::size_t unused = 0;
        error_code ec = run(
            [&](auto done) {
                socket_.async_connect(endpoint, [done](error_code e) mutable { done(e, 0); });
            },
            until, unused);
        if (ec) {
            throw HttpError("connect to 127.0.0.1:" + std::to_string(port) + " failed: " +
                            (ec == asio::error::timed_out ? "deadline passed" : ec.message()));
        }
        socket_.set_option(tcp::no_delay(true), ec);
    }

    // Makes this a TLS connection; throws HttpError when the handshake fails.
    void handshake(const TlsClientOptions& options, Clock::time_point until) {
        tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        SSL_CTX* native = tls_context_->native_handle();
        if (options.min_version != 0 && options.min_version < TLS1_2_VERSION)
            SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");  // OpenSSL 3 hides TLS < 1.2
        if (options.min_version != 0) SSL_CTX_set_min_proto_version(native, options.min_version);
        if (options.max_version != 0) {
            if (options.max_version < TLS1_2_VERSION)
                SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
            SSL_CTX_set_max_proto_version(native, options.max_version);
        }
        if (!options.alpn.empty()) {
            std::string wire;
            for (const auto& protocol : options.alpn) {
                wire.push_back(static_cast<char>(protocol.size()));
                wire += protocol;
            }
            SSL_CTX_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(wire.data()),
                                    static_cast<unsigned>(wire.size()));
        }
        if (!options.ca_file.empty()) {
            tls_context_->load_verify_file(options.ca_file);
            tls_context_->set_verify_mode(asio::ssl::verify_peer);
        } else {
            tls_context_->set_verify_mode(asio::ssl::verify_none);
        }
        tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
        SSL_set_tlsext_host_name(tls_->native_handle(), options.server_name.c_str());
        if (!options.ca_file.empty())
            tls_->set_verify_callback(asio::ssl::host_name_verification(options.server_name));
        std::size_t unused = 0;
        const error_code ec = run(
            [&](auto done) {
                tls_->async_handshake(asio::ssl::stream_base::client,
                                      [done](error_code e) mutable { done(e, 0); });
            },
            until, unused);
        if (ec) {
            throw HttpError(
                "TLS handshake with 127.0.0.1 failed: " +
                (ec == asio::error::timed_out ? std::string("deadline passed") : ec.message()));
        }
    }

    std::string alpn() const {
        if (!tls_) return "";
        const unsigned char* data = nullptr;
        unsigned length = 0;
        SSL_get0_alpn_selected(tls_->native_handle(), &data, &length);
        return std::string(reinterpret_cast<const char*>(data), length);
    }

    std::string tls_version() const { return tls_ ? SSL_get_version(tls_->native_handle()) : ""; }

    error_code write(std::string_view bytes, Clock::time_point until) {
        std::size_t written = 0;
        return run(
            [&](auto done) {
                if (tls_)
                    asio::async_write(*tls_, asio::buffer(bytes.data(), bytes.size()), done);
                else
                    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), done);
            },
            until, written);
    }

    // Appends what one read returns to `out`.
    error_code read_some(std::string& out, Clock::time_point until) {
        // End of stream and errors are final. Asked again, Asio would wait for a readiness
        // event that already came and went, until the deadline.
        if (read_end_) return read_end_;
        std::size_t got = 0;
        error_code ec = run(
            [&](auto done) {
                if (tls_)
                    tls_->async_read_some(asio::buffer(buffer_), done);
                else
                    socket_.async_read_some(asio::buffer(buffer_), done);
            },
            until, got);
        out.append(buffer_.data(), got);
        // A TLS server that closes without close_notify: for the tests, the end of the stream.
        if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
        if (ec && ec != asio::error::timed_out) read_end_ = ec;
        return ec;
    }

    // Reads and discards until end of stream or an error: true unless the deadline passed.
    bool wait_for_close(Clock::time_point until) {
        for (;;) {
            std::string discarded;
            error_code ec = read_some(discarded, until);
            if (ec) return ec != asio::error::timed_out;
        }
    }

    void shutdown_send() {
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }

    uint16_t local_port() const {
        error_code ec;
        auto endpoint = socket_.local_endpoint(ec);
        return ec ? 0 : endpoint.port();
    }

private:
    template <class Initiate>
    error_code run(Initiate&& initiate, Clock::time_point until, std::size_t& bytes) {
        std::optional<error_code> result;
        initiate([&result, &bytes](error_code ec, std::size_t n) {
            result = ec;
            bytes = n;
        });
        io_.restart();
        io_.run_until(until);
        if (!result) {
            error_code ignored;
            socket_.cancel(ignored);
            io_.restart();
            io_.run();  // completes the operation: cancelled, or done just before the cancel
            if (!result || *result == asio::error::operation_aborted) {
                return asio::error::timed_out;
            }
        }
        return *result;
    }

    asio::io_context io_{1};
    tcp::socket socket_{io_};
    std::unique_ptr<asio::ssl::context> tls_context_;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;  // after handshake()
    std::array<char, 16 * 1024> buffer_{};
    error_code read_end_;  // how reading ended: end of stream or an error
};

// Parses one response fed in pieces; interim 1xx responses are skipped.
class ResponseParser {
public:
    explicit ResponseParser(bool head_request) : head_request_(head_request) { reset(); }

    // Consumes what it can from the front of `pending`. Returns a parse error, if any.
    error_code feed(std::string& pending) {
        while (!pending.empty() && !parser_->is_done()) {
            error_code ec;
            std::size_t used = parser_->put(asio::buffer(pending.data(), pending.size()), ec);
            pending.erase(0, used);
            if (ec == http::error::need_more) return {};
            if (ec) return ec;
            if (interim()) {
                reset();
            } else if (used == 0) {
                return {};
            }
        }
        return {};
    }

    // The connection ended: fine only for a body delimited by the close.
    error_code end_of_stream() {
        if (!parser_->got_some()) return http::error::partial_message;
        error_code ec;
        if (!parser_->is_done()) parser_->put_eof(ec);
        return ec;
    }

    bool head_done() const { return parser_->is_header_done(); }
    bool done() const { return parser_->is_done(); }
    const std::string& body() const { return parser_->get().body(); }

    HttpHead head() const {
        const auto& message = parser_->get();
        HttpHead head;
        head.status = static_cast<int>(message.result_int());
        head.reason = std::string(message.reason().data(), message.reason().size());
        for (const auto& field : message) {
            auto name = field.name_string();
            auto value = field.value();
            head.headers.emplace_back(lower(std::string_view(name.data(), name.size())),
                                      std::string(value.data(), value.size()));
        }
        return head;
    }

private:
    bool interim() const {
        if (!parser_->is_done()) return false;
        unsigned status = parser_->get().result_int();
        return status >= 100 && status < 200 && status != 101;
    }

    void reset() {
        parser_.emplace();
        parser_->eager(true);
        parser_->header_limit(1024 * 1024);
        parser_->body_limit(boost::none);
        parser_->skip(head_request_);
    }

    bool head_request_;
    std::optional<http::response_parser<http::string_body>> parser_;
};

struct ReadResult {
    HttpHead head;
    bool head_done = false;
    Clock::time_point head_at{};
    bool complete = false;
    std::string body;
    std::string error;  // set when !complete
};

using BodyCallback = std::function<void(std::string_view data, Clock::time_point at)>;

// Reads one response from `socket`, starting with the bytes in `pending`; bytes after the
// response stay in `pending`. `on_body` gets the body bytes each read produced.
ReadResult read_response(Socket& socket, std::string& pending, bool head_request,
                         Clock::time_point started, Clock::time_point until,
                         const BodyCallback& on_body) {
    ResponseParser parser(head_request);
    ReadResult result;
    std::string received;  // the start of what arrived, for error messages
    std::size_t received_bytes = 0;
    std::size_t body_delivered = 0;

    auto progress = [&](Clock::time_point at) {
        std::ostringstream text;
        text << " after " << millis(at - started) << " ms; received " << received_bytes << " bytes";
        if (parser.head_done()) {
            text << " (status " << parser.head().status << ", " << parser.body().size()
                 << " body bytes)";
        }
        if (received_bytes > 0) text << ": " << excerpt(received);
        return text.str();
    };
    auto absorb = [&](Clock::time_point at) {
        if (!result.head_done && parser.head_done()) {
            result.head_done = true;
            result.head_at = at;
        }
        const std::string& body = parser.body();
        if (body.size() > body_delivered && on_body) {
            on_body(std::string_view(body).substr(body_delivered), at);
        }
        body_delivered = body.size();
    };

    received = pending.substr(0, 400);
    received_bytes = pending.size();
    if (error_code ec = parser.feed(pending)) {
        result.error = "invalid HTTP response (" + ec.message() + ")" + progress(Clock::now());
        return result;
    }
    absorb(Clock::now());

    while (!parser.done()) {
        const std::size_t before = pending.size();
        error_code ec = socket.read_some(pending, until);
        const auto at = Clock::now();
        received_bytes += pending.size() - before;
        if (received.size() < 400) received += pending.substr(before, 400 - received.size());

        if (ec == asio::error::timed_out) {
            result.error = "no complete response within the deadline of " +
                           std::to_string(millis(until - started)) + " ms" + progress(at);
            break;
        }
        if (ec == asio::error::eof) {
            if (parser.feed(pending) || parser.end_of_stream()) {
                result.error = "connection closed before the response was complete" + progress(at);
            }
            absorb(at);
            break;
        }
        if (ec) {
            result.error = "connection error (" + ec.message() + ")" + progress(at);
            break;
        }
        if (error_code parse_ec = parser.feed(pending)) {
            result.error = "invalid HTTP response (" + parse_ec.message() + ")" + progress(at);
            break;
        }
        absorb(at);
    }

    result.complete = parser.done() && result.error.empty();
    if (parser.head_done()) {
        result.head = parser.head();
        result.body = parser.body();
    }
    return result;
}

std::string describe(const HttpRequest& request, uint16_t port) {
    return request.method + " " + request.target + " to 127.0.0.1:" + std::to_string(port);
}

bool is_head(const HttpRequest& request) {
    return iequals(request.method, "HEAD");
}

// Sends `request` and reads its response; throws HttpError unless a full response arrives.
HttpResponse exchange(Socket& socket, std::string& pending, uint16_t port,
                      const HttpRequest& request, Clock::time_point until) {
    const auto started = Clock::now();
    const error_code write_ec = socket.write(serialize_request(request, port), until);
    if (write_ec == asio::error::timed_out) {
        throw HttpError(describe(request, port) + ": the request could not be sent within the " +
                        "deadline (the server is not reading)");
    }
    // A server may answer early (413, 431) and close while the request is still being sent:
    // read its answer even when the write failed.
    ReadResult result = read_response(socket, pending, is_head(request), started, until, {});
    if (!result.complete) {
        std::string message = describe(request, port) + ": " + result.error;
        if (write_ec) message += " (sending the request failed: " + write_ec.message() + ")";
        throw HttpError(message);
    }
    HttpResponse response;
    static_cast<HttpHead&>(response) = std::move(result.head);
    response.body = std::move(result.body);
    return response;
}

}  // namespace

std::string HttpHead::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) return value;
    }
    return "";
}

bool HttpHead::has_header(std::string_view name) const {
    for (const auto& header : headers) {
        if (iequals(header.first, name)) return true;
    }
    return false;
}

std::vector<std::string> HttpHead::header_values(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) values.push_back(value);
    }
    return values;
}

nlohmann::json HttpResponse::json() const {
    try {
        return nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        throw HttpError("response body (status " + std::to_string(status) +
                        ") is not JSON: " + e.what() + "; body: " + excerpt(body));
    }
}

std::string StreamedResponse::body() const {
    std::string out;
    for (const auto& chunk : chunks) out += chunk.data;
    return out;
}

std::string serialize_request(const HttpRequest& request, uint16_t port) {
    bool has_host = false;
    bool has_length = false;
    for (const auto& [name, value] : request.headers) {
        has_host = has_host || iequals(name, "host");
        has_length =
            has_length || iequals(name, "content-length") || iequals(name, "transfer-encoding");
    }
    std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
    if (!has_host) out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
    const bool needs_length = !request.body.empty() || iequals(request.method, "POST") ||
                              iequals(request.method, "PUT") || iequals(request.method, "PATCH");
    if (!has_length && needs_length) {
        out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    }
    out += "\r\n";
    out += request.body;
    return out;
}

HttpResponse parse_response(std::string_view raw) {
    ResponseParser parser(false);
    std::string pending(raw);
    error_code ec = parser.feed(pending);
    if (!ec && !parser.done()) ec = parser.end_of_stream();
    if (ec) {
        throw HttpError("parse_response: not a complete HTTP response (" + ec.message() +
                        "): " + excerpt(raw));
    }
    HttpResponse response;
    static_cast<HttpHead&>(response) = parser.head();
    response.body = parser.body();
    return response;
}

HttpResponse http_request(uint16_t port, const HttpRequest& request,
                          std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    Socket socket;
    socket.connect(port, until);
    std::string pending;
    return exchange(socket, pending, port, request, until);
}

HttpResponse https_request(uint16_t port, const TlsClientOptions& tls, const HttpRequest& request,
                           std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    Socket socket;
    socket.connect(port, until);
    socket.handshake(tls, until);
    std::string pending;
    return exchange(socket, pending, port, request, until);
}

struct HttpConnection::Impl {
    Socket socket;
    std::string pending;  // bytes received after the previous response
    uint16_t port = 0;
};

HttpConnection::HttpConnection(uint16_t port, std::chrono::milliseconds connect_deadline)
    : impl_(std::make_unique<Impl>()) {
    impl_->port = port;
    impl_->socket.connect(port, Clock::now() + connect_deadline);
}

HttpConnection::HttpConnection(uint16_t port, const TlsClientOptions& tls,
                               std::chrono::milliseconds connect_deadline)
    : impl_(std::make_unique<Impl>()) {
    impl_->port = port;
    const auto until = Clock::now() + connect_deadline;
    impl_->socket.connect(port, until);
    impl_->socket.handshake(tls, until);
}

std::string HttpConnection::alpn() const {
    return impl_->socket.alpn();
}

std::string HttpConnection::tls_version() const {
    return impl_->socket.tls_version();
}

HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;
HttpConnection& HttpConnection::operator=(HttpConnection&&) noexcept = default;
HttpConnection::~HttpConnection() = default;

HttpResponse HttpConnection::send(const HttpRequest& request, std::chrono::milliseconds deadline) {
    return exchange(impl_->socket, impl_->pending, impl_->port, request, Clock::now() + deadline);
}

bool HttpConnection::closed_by_peer(std::chrono::milliseconds deadline) {
    impl_->pending.clear();
    return impl_->socket.wait_for_close(Clock::now() + deadline);
}

uint16_t HttpConnection::local_port() const {
    return impl_->socket.local_port();
}

namespace {
StreamedResponse stream_on(Socket& socket, uint16_t port, const HttpRequest& request,
                           Clock::time_point until) {
    const error_code write_ec = socket.write(serialize_request(request, port), until);
    if (write_ec == asio::error::timed_out) {
        throw HttpError(describe(request, port) + ": the request could not be sent within the " +
                        "deadline (the server is not reading)");
    }
    const auto sent = Clock::now();
    StreamedResponse response;
    std::string pending;
    ReadResult result = read_response(socket, pending, is_head(request), sent, until,
                                      [&](std::string_view data, Clock::time_point at) {
                                          response.chunks.push_back({std::string(data), at - sent});
                                      });
    if (!result.head_done) {
        std::string message = describe(request, port) + ": no response head: " + result.error;
        if (write_ec) message += " (sending the request failed: " + write_ec.message() + ")";
        throw HttpError(message);
    }
    static_cast<HttpHead&>(response) = std::move(result.head);
    response.head_after = result.head_at - sent;
    response.complete = result.complete;
    response.error = std::move(result.error);
    return response;
}
}  // namespace

StreamedResponse http_stream(uint16_t port, const HttpRequest& request,
                             std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    Socket socket;
    socket.connect(port, until);
    return stream_on(socket, port, request, until);
}

StreamedResponse https_stream(uint16_t port, const TlsClientOptions& tls,
                              const HttpRequest& request, std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    Socket socket;
    socket.connect(port, until);
    socket.handshake(tls, until);
    return stream_on(socket, port, request, until);
}

struct RawConnection::Impl {
    Socket socket;
};

RawConnection::RawConnection(uint16_t port, std::chrono::milliseconds connect_deadline)
    : impl_(std::make_unique<Impl>()) {
    impl_->socket.connect(port, Clock::now() + connect_deadline);
}

RawConnection::RawConnection(RawConnection&&) noexcept = default;
RawConnection& RawConnection::operator=(RawConnection&&) noexcept = default;
RawConnection::~RawConnection() = default;

bool RawConnection::send(std::string_view bytes, std::chrono::milliseconds deadline) {
    return !impl_->socket.write(bytes, Clock::now() + deadline);
}

void RawConnection::shutdown_send() {
    impl_->socket.shutdown_send();
}

std::string RawConnection::read_until_close(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    std::string out;
    while (!impl_->socket.read_some(out, until)) {
    }
    return out;
}

std::string RawConnection::read_some(std::chrono::milliseconds deadline) {
    std::string out;
    impl_->socket.read_some(out, Clock::now() + deadline);
    return out;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds deadline) {
    return impl_->socket.wait_for_close(Clock::now() + deadline);
}

uint16_t RawConnection::local_port() const {
    return impl_->socket.local_port();
}

}  // namespace llmgw::testing
