// Client-side framing: Content-Length, chunked (one chunk per upstream read), or close-delimited.
// The head is serialized by hand so it can leave in the same write as the first body piece.
#include "llmgw/http/response_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstdio>

#include "llmgw/http/write_now.hpp"

namespace llmgw::http {

namespace bhttp = beast::http;

namespace {
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

// The status line, the fields, the gateway's own lines, then the framing lines.
void serialize_head(const ResponseHead& head, std::string_view lines, std::string_view framing,
                    std::string& out) {
    out.clear();
    out.reserve(256 + lines.size());
    out += head.version() >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
    char status[8];
    const auto* end = std::to_chars(status, status + sizeof status, head.result_int()).ptr;
    out.append(status, static_cast<std::size_t>(end - status));
    out += ' ';
    out += bhttp::obsolete_reason(static_cast<bhttp::status>(head.result_int()));
    out += crlf;
    for (const auto& field : head) {
        out += field.name_string();
        out += ": ";
        out += field.value();
        out += crlf;
    }
    out += lines;
    out += framing;
    out += crlf;
}
}  // namespace

ResponseWriter::ResponseWriter(tcp::socket& socket, TlsSocket* tls, ConnectionDeadline& deadline,
                               std::chrono::milliseconds write_timeout, unsigned client_version,
                               bool client_keep_alive, bool head_request)
    : socket_(socket),
      tls_(tls),
      deadline_(deadline),
      write_timeout_(write_timeout),
      version_(client_version),
      keep_alive_(client_keep_alive),
      head_request_(head_request) {}

std::optional<bool> ResponseWriter::write_now_or_keep(Parts parts) {
    if (aborted_) return false;
    unsent_ = {net::buffer(pending_head_), parts.first, parts.second, parts.third};
    if (tls_ != nullptr) return std::nullopt;  // an SSL stream writes through its event loop
    // What the socket takes at once goes without a trip through the event loop.
    const auto written = write_now(socket_, unsent_);
    if (written == net::buffer_size(unsent_)) {
        deadline_.never();
        pending_head_.clear();
        return true;
    }
    drop_written(unsent_, written);
    return std::nullopt;
}

Task<bool> ResponseWriter::flush() {
    if (aborted_) co_return false;
    boost::system::error_code ec;
    deadline_.expires_after(write_timeout_);
    if (tls_ == nullptr) {
        const auto waiting_from = std::chrono::steady_clock::now();
        auto [write_ec, n] =
            co_await net::async_write(socket_, unsent_, net::as_tuple(http::use_awaitable));
        client_waits_ += std::chrono::steady_clock::now() - waiting_from;
        ec = write_ec;
    } else {
        // An SSL stream writes one buffer per record: gather first.
        tls_out_.clear();
        for (const auto& part : unsent_)
            tls_out_.append(static_cast<const char*>(part.data()), part.size());
        auto [write_ec, n] = co_await net::async_write(*tls_, net::buffer(tls_out_),
                                                       net::as_tuple(http::use_awaitable));
        ec = write_ec;
    }
    deadline_.never();
    pending_head_.clear();
    if (ec) abort();
    co_return !ec;
}

Task<bool> ResponseWriter::send_error(const GatewayError& error, std::string_view request_id) {
    ResponseHead head;
    head.result(static_cast<unsigned>(error.status));
    head.set(bhttp::field::content_type, "application/json");
    if (!request_id.empty()) head.set("x-request-id", request_id);
    if (error.status == 401) head.set(bhttp::field::www_authenticate, "Bearer");
    if (error.retry_after_seconds > 0)
        head.set(bhttp::field::retry_after, std::to_string(error.retry_after_seconds));
    for (const auto& [name, value] : error.headers) head.set(name, value);
    const auto body = error_body(error);
    const bool sent = co_await send_complete(head, body);
    co_return sent;
}

Task<bool> ResponseWriter::send_complete(ResponseHead& head, std::string_view body) {
    head.set(bhttp::field::content_length, std::to_string(body.size()));
    bool ok = co_await send_head(head, {}, Framing::content_length, HeadTiming::with_first_piece);
    if (ok) ok = co_await send_body(body);
    if (ok) ok = co_await finish();
    co_return ok;
}

std::optional<bool> ResponseWriter::head_now(ResponseHead& head, std::string_view lines,
                                             Framing framing, HeadTiming timing) {
    status_ = static_cast<int>(head.result_int());
    // HTTP/1.0 clients cannot read chunked encoding: the end of the body is the close.
    if (framing == Framing::chunked && version_ < 11) {
        framing = Framing::none;
        keep_alive_ = false;
    }
    if (head_request_) framing = Framing::content_length;  // a HEAD answer has no body to frame
    framing_ = framing;
    head.version(version_ >= 11 ? 11 : 10);
    // Framing is the writer's alone: the head and the lines never carry these two.
    std::string_view framing_lines;
    const bool te = framing == Framing::chunked && !head_request_;
    if (!keep_alive_)
        framing_lines = te ? "Transfer-Encoding: chunked\r\nConnection: close\r\n"
                           : "Connection: close\r\n";
    else if (version_ < 11)
        framing_lines = "Connection: keep-alive\r\n";  // never chunked (HTTP/1.0)
    else if (te)
        framing_lines = "Transfer-Encoding: chunked\r\n";
    head_started_ = true;
    serialize_head(head, lines, framing_lines, pending_head_);
    if (timing == HeadTiming::with_first_piece) return !aborted_;
    return write_now_or_keep({});
}

bool ResponseWriter::take_back_head() {
    if (pending_head_.empty() || body_bytes_ > 0 || aborted_) return false;
    pending_head_.clear();
    head_started_ = false;
    framing_ = Framing::none;
    status_ = 0;
    return true;
}

std::optional<bool> ResponseWriter::body_now(std::string_view data) {
    if (data.empty() || head_request_) return !aborted_;
    body_bytes_ += data.size();
    if (framing_ == Framing::chunked) {
        char size[24];
        const int length = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        chunk_prefix_.assign(size, static_cast<std::size_t>(length));
        return write_now_or_keep({net::buffer(chunk_prefix_), net::buffer(data), net::buffer(crlf)});
    }
    return write_now_or_keep({net::buffer(data), {}, {}});
}

std::optional<bool> ResponseWriter::finish_now() {
    if (framing_ == Framing::chunked && !head_request_)
        return write_now_or_keep({net::buffer(last_chunk), {}, {}});
    if (!pending_head_.empty()) return write_now_or_keep({});
    return !aborted_;
}

void ResponseWriter::abort() {
    aborted_ = true;
    keep_alive_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace llmgw::http
