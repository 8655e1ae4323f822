// Writes one answer to the client: a gateway error, or an upstream answer relayed piece by piece.
// Pipeline steps hand their results to it; none of them touches the socket.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/connection_deadline.hpp"
#include "llmgw/http/gateway_error.hpp"

namespace llmgw::http {

class ResponseWriter {
public:
    enum class Framing { content_length, chunked, none };
    // Whether the head may wait for the first body piece so both leave in one write.
    enum class HeadTiming { now, with_first_piece };

    // `tls` is the TLS stream over `socket` for an https client, else null.
    ResponseWriter(tcp::socket& socket, TlsSocket* tls, ConnectionDeadline& deadline,
                   std::chrono::milliseconds write_timeout, unsigned client_version,
                   bool client_keep_alive, bool head_request);

    // A complete gateway-made error answer with its OpenAI-style body.
    Task<bool> send_error(const GatewayError& error, std::string_view request_id);
    // A complete small answer (the admin listener uses it too).
    Task<bool> send_complete(ResponseHead& head, std::string_view body);

    // Relaying: the head (framing headers are set here), then body pieces, then finish().
    // For Framing::content_length the head must carry Content-Length already.
    Task<bool> send_head(ResponseHead& head, Framing framing, HeadTiming timing = HeadTiming::now);
    Task<bool> send_body(std::string_view data);
    Task<bool> finish();
    // Cuts the answer short: the client sees a broken stream, never a hang or a silent truncation.
    void abort();
    // Forgets a head still waiting for its first body piece (nothing written yet), so an error
    // answer can go instead; false when bytes of the answer already left.
    bool take_back_head();
    // Calls `done(true)` when the client hangs up, `done(false)` when it sends more bytes (left
    // unread); nothing when cancelled through `slot`. `byte` must outlive the wait.
    // Plain TCP only: see hang_up_needs_polling().
    void watch_for_hang_up(char& byte, net::cancellation_slot slot, std::function<void(bool)> done);
    // Over TLS a peek cannot tell a close_notify from a pipelined request (both are encrypted
    // records), so a hang-up is found by asking client_closed() from time to time instead.
    bool hang_up_needs_polling() const { return tls_ != nullptr; }
    // Without blocking: the client closed its side or reset the connection.
    bool client_closed() const;

    bool head_sent() const { return head_started_; }
    bool keep_alive() const { return keep_alive_ && !aborted_; }
    bool chunked() const { return framing_ == Framing::chunked; }
    int status() const { return status_; }
    std::uint64_t body_bytes() const { return body_bytes_; }
    // The connection must close after this answer (set before send_head / send_error).
    void close_after() { keep_alive_ = false; }

private:
    // Up to three buffers after the pending head. (A struct, not std::array: GCC 12 cannot
    // copy an array parameter into a coroutine frame.)
    struct Parts {
        net::const_buffer first, second, third;
    };
    // Writes the pending head (if any) followed by `parts` in one gather write.
    Task<bool> write(Parts parts);

    tcp::socket& socket_;  // under TLS too: deadlines cancel it, abort() closes it
    TlsSocket* tls_;
    ConnectionDeadline& deadline_;
    std::chrono::milliseconds write_timeout_;
    unsigned version_;
    bool keep_alive_;
    bool head_request_;  // HEAD: the head only, never a body
    Framing framing_ = Framing::none;
    bool head_started_ = false;
    bool aborted_ = false;
    int status_ = 0;
    std::uint64_t body_bytes_ = 0;
    std::string pending_head_;  // serialized, not yet written
    std::string chunk_prefix_;
    // TLS: the parts of one write gathered so they leave as one record, not one per part.
    std::string tls_out_;
};

}  // namespace llmgw::http
