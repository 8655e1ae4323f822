// A blocking HTTP/1.1 client for tests, on 127.0.0.1, with a deadline on every call.
//
// Failures a test did not ask for (deadline passed, connection refused, reset before a full
// response, invalid HTTP) throw HttpError whose what() says what happened and what arrived,
// so gtest reports them clearly; nothing here can hang past its deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmgw::testing {

class HttpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Status line and headers of a response. Header names are lower-cased, in arrival order.
struct HttpHead {
    int status = 0;
    std::string reason{};
    HttpHeaders headers{};

    // Value of the first header called `name` (any case); "" when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    // Every value of `name`, in order (for headers that may repeat).
    std::vector<std::string> header_values(std::string_view name) const;
};

struct HttpResponse : HttpHead {
    std::string body{};

    // The body parsed as JSON; throws HttpError quoting the body when it is not JSON.
    nlohmann::json json() const;
};

// Every member has a default, so partial initializers such as {"POST", "/v1/x"} or
// {.method = "POST", .body = "{}"} stay free of -Wmissing-field-initializers.
struct HttpRequest {
    std::string method = "GET";
    std::string target = "/";
    HttpHeaders headers{};
    std::string body{};
};

// TLS for the test clients (https): what to trust, the name to send and check, versions.
struct TlsClientOptions {
    std::string ca_file{};  // PEM CA to trust; empty: the certificate is not checked
    std::string server_name = "localhost";  // sent as SNI and verified against the certificate
    int min_version = 0;                    // OpenSSL constants (TLS1_1_VERSION ...); 0: default
    int max_version = 0;
    std::vector<std::string> alpn{"h2", "http/1.1"};  // offered protocols; empty: no ALPN
};

// The request as it goes on the wire: Host is added when absent; Content-Length is added
// when the body is non-empty or the method is POST, PUT or PATCH, unless the request
// already has Content-Length or Transfer-Encoding.
std::string serialize_request(const HttpRequest& request, uint16_t port);

// Parses the first response in `raw` (Content-Length, chunked, or up to the end of `raw`).
// Throws HttpError when `raw` does not hold a complete, valid response.
HttpResponse parse_response(std::string_view raw);

// One request on a new connection; the whole exchange must finish within `deadline`.
HttpResponse http_request(uint16_t port, const HttpRequest& request,
                          std::chrono::milliseconds deadline = std::chrono::seconds(10));

// The same over TLS; a failed handshake throws HttpError saying why.
HttpResponse https_request(uint16_t port, const TlsClientOptions& tls, const HttpRequest& request,
                           std::chrono::milliseconds deadline = std::chrono::seconds(10));

// A keep-alive connection: several requests in sequence on one socket.
class HttpConnection {
public:
    explicit HttpConnection(uint16_t port,
                            std::chrono::milliseconds connect_deadline = std::chrono::seconds(10));
    // Over TLS: the handshake happens here (HttpError when it fails).
    HttpConnection(uint16_t port, const TlsClientOptions& tls,
                   std::chrono::milliseconds connect_deadline = std::chrono::seconds(10));
    // TLS only: the protocol the server chose by ALPN ("" for none) and the TLS version
    // ("TLSv1.3").
    std::string alpn() const;
    std::string tls_version() const;
    HttpConnection(HttpConnection&&) noexcept;
    HttpConnection& operator=(HttpConnection&&) noexcept;
    ~HttpConnection();

    HttpResponse send(const HttpRequest& request,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10));
    // Reads (and discards) until the server closes or resets the connection: true if that
    // happens within the deadline.
    bool closed_by_peer(std::chrono::milliseconds deadline);
    uint16_t local_port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Body bytes produced by one read from the socket, and when they arrived.
struct Chunk {
    std::string data{};
    std::chrono::steady_clock::duration arrived_after{};  // since the request was sent
};

struct StreamedResponse : HttpHead {
    std::chrono::steady_clock::duration head_after{};  // when the head was complete
    std::vector<Chunk> chunks{};  // one per socket read that carried body bytes
    // True when the body ended as HTTP says it should (terminating chunk, full
    // Content-Length, or close for a body delimited by close); false when cut or late.
    bool complete = false;
    std::string error{};  // why it is not complete

    std::string body() const;
};

// Sends one request on a new connection and records the body as it arrives, read by read.
// Throws HttpError when no response head arrives within the deadline; a body cut short or
// still running at the deadline is reported through `complete` and `error`.
StreamedResponse http_stream(uint16_t port, const HttpRequest& request,
                             std::chrono::milliseconds deadline = std::chrono::seconds(10));
StreamedResponse https_stream(uint16_t port, const TlsClientOptions& tls,
                              const HttpRequest& request,
                              std::chrono::milliseconds deadline = std::chrono::seconds(10));

// Server-sent events: the payloads of the `data:` lines in `body`, in order (one leading
// space removed, CRLF or LF line ends).
std::vector<std::string> sse_data_lines(const std::string& body);
// When each complete event (lines with a `data:` field, ended by a blank line) arrived:
// the arrival time of the read that delivered the event's last byte.
std::vector<std::chrono::steady_clock::duration> sse_event_arrivals(const StreamedResponse& r);
// The arrival of event `k` (0-based); nullopt when fewer events arrived.
std::optional<std::chrono::steady_clock::duration> sse_event_arrival(const StreamedResponse& r,
                                                                     std::size_t k);

// A plain TCP connection for requests that HttpRequest cannot express (malformed heads,
// slow or partial sends, pipelining).
class RawConnection {
public:
    explicit RawConnection(uint16_t port,
                           std::chrono::milliseconds connect_deadline = std::chrono::seconds(10));
    RawConnection(RawConnection&&) noexcept;
    RawConnection& operator=(RawConnection&&) noexcept;
    ~RawConnection();

    // Writes all of `bytes`; false if the peer closed or reset the connection first, or the
    // deadline passed (the server stopped reading).
    bool send(std::string_view bytes,
              std::chrono::milliseconds deadline = std::chrono::seconds(10));
    // Half-close: the server sees end of stream; reading still works.
    void shutdown_send();
    // Everything that arrives until the peer closes or resets, or the deadline passes.
    std::string read_until_close(std::chrono::milliseconds deadline);
    // What one read returns: "" on close, reset or deadline.
    std::string read_some(std::chrono::milliseconds deadline);
    // Reads (and discards) until close or reset: true if that happens within the deadline.
    bool closed_by_peer(std::chrono::milliseconds deadline);
    uint16_t local_port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace llmgw::testing
