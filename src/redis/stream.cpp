// Resolve, connect and (for rediss://) the TLS handshake; reads and writes as awaitables that
// report errors as values.
#include "stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace llmgw::redis::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(use_awaitable);

Stream::Stream(const Executor& executor, const Client::Tls* tls)
    : settings_(tls), resolver_(executor), plain_(executor) {
    if (settings_)
        tls_ = std::make_unique<asio::ssl::stream<Socket>>(executor, *settings_->context);
}

Task<std::string> Stream::open(const std::string& host, uint16_t port) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) {
        auto [connected] = co_await socket().async_connect(tcp::endpoint(address, port), use_tuple);
        ec = connected;
    } else {
        auto [resolved, found] =
            co_await resolver_.async_resolve(host, std::to_string(port), use_tuple);
        if (closed_) co_return "closed";
        if (resolved || found.empty())
            co_return "cannot resolve " + host + ": " + resolved.message();
        auto [connected, endpoint] = co_await asio::async_connect(socket(), found, use_tuple);
        ec = connected;
    }
    if (closed_) co_return "closed";
    if (ec) co_return "connect failed: " + ec.message();
    socket().set_option(tcp::no_delay(true), ec);
    if (!tls_) co_return "";
    std::string failure = co_await handshake(host);
    co_return failure;
}

Task<std::string> Stream::handshake(const std::string& host) {
    if (!settings_->prepare(tls_->native_handle(), host)) {
        tls_failed_ = true;
        co_return "TLS: the server name for " + host + " was refused";
    }
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (closed_) co_return "closed";
    if (!ec) co_return "";
    tls_failed_ = true;
    co_return "TLS handshake failed: " +
        settings_->describe_failure(tls_->native_handle(), ec.message());
}

Task<std::pair<boost::system::error_code, std::size_t>> Stream::read_some(
    asio::mutable_buffer buffer) {
    std::pair<boost::system::error_code, std::size_t> out;
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, use_tuple);
        out = {ec, n};
    } else {
        auto [ec, n] = co_await plain_.async_read_some(buffer, use_tuple);
        out = {ec, n};
    }
    co_return out;
}

Task<boost::system::error_code> Stream::write(asio::const_buffer buffer) {
    boost::system::error_code out;
    if (tls_) {
        auto [ec, n] = co_await asio::async_write(*tls_, buffer, use_tuple);
        out = ec;
    } else {
        auto [ec, n] = co_await asio::async_write(plain_, buffer, use_tuple);
        out = ec;
    }
    co_return out;
}

void Stream::close() {
    closed_ = true;
    resolver_.cancel();
    boost::system::error_code ignored;
    socket().close(ignored);
}

void append_command(std::string& out, const std::vector<std::string>& args) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto& arg : args) {
        out += '$';
        out += std::to_string(arg.size());
        out += "\r\n";
        out += arg;
        out += "\r\n";
    }
}

ScriptCall script_call(const Script& script, const Arguments& keys, const Arguments& args) {
    ScriptCall call;
    call.script = &script;
    call.keys = keys.count();
    call.count = keys.count() + args.count();
    call.tail.reserve(keys.wire().size() + args.wire().size());
    call.tail += keys.wire();
    call.tail += args.wire();
    return call;
}

std::string script_command(std::string_view verb, std::string_view name, const ScriptCall& call) {
    Arguments head;
    head.add(verb);
    head.add(name);
    head.add(std::uint64_t{call.keys});
    std::string out;
    out.reserve(16 + head.wire().size() + call.tail.size());
    out += '*';
    out += std::to_string(head.count() + call.count);
    out += "\r\n";
    out += head.wire();
    out += call.tail;
    return out;
}

}  // namespace llmgw::redis::detail
