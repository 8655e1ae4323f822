// A byte stream to one Redis server or sentinel: TCP, or TLS over TCP (rediss://).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "llmgw/redis/arguments.hpp"
#include "llmgw/redis/client.hpp"

namespace llmgw::redis::detail {

// A TCP socket on the worker's executor.
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

class Stream {
public:
    // `tls` null: plain TCP. It must outlive the Stream.
    Stream(const Executor& executor, const Client::Tls* tls);

    // Resolves `host` (on Asio's resolver thread, never blocking the loop), connects, and with
    // TLS shakes hands. Returns "" once open, else why not (a certificate's verdict when its
    // check failed; then tls_failed() is true).
    Task<std::string> open(const std::string& host, uint16_t port);
    Task<std::pair<boost::system::error_code, std::size_t>> read_some(
        boost::asio::mutable_buffer buffer);
    Task<boost::system::error_code> write(boost::asio::const_buffer buffer);
    // Ends the waits in progress (they complete with an error); later calls fail.
    void close();

    bool tls_failed() const { return tls_failed_; }

private:
    Socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
    Task<std::string> handshake(const std::string& host);

    const Client::Tls* settings_;
    boost::asio::ip::basic_resolver<boost::asio::ip::tcp, Executor> resolver_;
    Socket plain_;
    std::unique_ptr<boost::asio::ssl::stream<Socket>> tls_;
    bool closed_ = false;
    bool tls_failed_ = false;
};

// "*N\r\n$len\r\narg\r\n...": a command in RESP, appended to `out`.
void append_command(std::string& out, const std::vector<std::string>& args);
// A script call's keys and arguments in RESP, without the command and the script's name in
// front: EVALSHA or FCALL goes there (script_command), whichever the server takes.
struct ScriptCall {
    const Script* script = nullptr;   // must outlive the call
    std::size_t keys = 0, count = 0;  // keys; keys and arguments
    std::string tail;
};
ScriptCall script_call(const Script& script, const Arguments& keys, const Arguments& args);
// `verb` (EVALSHA, FCALL) `name` (the SHA1, the function) <key count> keys... args..., in RESP.
std::string script_command(std::string_view verb, std::string_view name, const ScriptCall& call);

}  // namespace llmgw::redis::detail
