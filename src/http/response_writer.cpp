// Client-side framing: Content-Length, chunked (one chunk per upstream read), or close-delimited.
#include "llmgw/http/response_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace llmgw::http {

namespace bhttp = beast::http;

ResponseWriter::ResponseWriter(tcp::socket& socket, ConnectionDeadline& deadline,
                               std::chrono::milliseconds write_timeout, unsigned client_version,
                               bool client_keep_alive)
    : socket_(socket),
      deadline_(deadline),
      write_timeout_(write_timeout),
      version_(client_version),
      keep_alive_(client_keep_alive) {}

Task<bool> ResponseWriter::write(const auto& buffers) {
    if (aborted_) co_return false;
    deadline_.expires_after(write_timeout_);
    auto [ec, n] = co_await net::async_write(socket_, buffers, net::as_tuple(net::use_awaitable));
    deadline_.never();
    if (ec) abort();
    co_return !ec;
}

Task<bool> ResponseWriter::send_error(const GatewayError& error, std::string_view request_id) {
    ResponseHead head;
    head.result(static_cast<unsigned>(error.status));
    head.set(bhttp::field::content_type, "application/json");
    if (!request_id.empty()) head.set("x-request-id", request_id);
    if (error.status == 401) head.set(bhttp::field::www_authenticate, "Bearer");
    if (error.retry_after_seconds > 0) head.set(bhttp::field::retry_after, std::to_string(error.retry_after_seconds));
    const auto body = error_body(error);
    const bool sent = co_await send_complete(head, body);
    co_return sent;
}

Task<bool> ResponseWriter::send_complete(ResponseHead& head, std::string_view body) {
    head.set(bhttp::field::content_length, std::to_string(body.size()));
    bool ok = co_await send_head(head, Framing::content_length);
    if (ok && !body.empty()) ok = co_await send_body(body);
    if (ok) ok = co_await finish();
    co_return ok;
}

Task<bool> ResponseWriter::send_head(ResponseHead& head, Framing framing) {
    status_ = static_cast<int>(head.result_int());
    // HTTP/1.0 clients cannot read chunked encoding: the end of the body is the close.
    if (framing == Framing::chunked && version_ < 11) {
        framing = Framing::none;
        keep_alive_ = false;
    }
    framing_ = framing;
    head.version(version_ >= 11 ? 11 : 10);
    if (framing == Framing::chunked) head.set(bhttp::field::transfer_encoding, "chunked");
    if (!keep_alive_) head.set(bhttp::field::connection, "close");
    else if (version_ < 11) head.set(bhttp::field::connection, "keep-alive");
    head_sent_ = true;
    bhttp::response<bhttp::empty_body> message(std::move(head));
    bhttp::response_serializer<bhttp::empty_body> serializer(message);
    if (aborted_) co_return false;
    deadline_.expires_after(write_timeout_);
    auto [ec, n] = co_await bhttp::async_write_header(socket_, serializer, net::as_tuple(net::use_awaitable));
    deadline_.never();
    if (ec) abort();
    co_return !ec;
}

Task<bool> ResponseWriter::send_body(std::string_view data) {
    if (data.empty()) co_return !aborted_;
    body_bytes_ += data.size();
    bool ok = false;
    if (framing_ == Framing::chunked) ok = co_await write(bhttp::make_chunk(net::buffer(data)));
    else ok = co_await write(net::buffer(data));
    co_return ok;
}

Task<bool> ResponseWriter::finish() {
    bool ok = !aborted_;
    if (framing_ == Framing::chunked) ok = co_await write(bhttp::make_chunk_last());
    co_return ok;
}

void ResponseWriter::abort() {
    aborted_ = true;
    keep_alive_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace llmgw::http
