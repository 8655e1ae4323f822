// Writes one answer to the client: a gateway error, or an upstream answer relayed piece by piece.
// Pipeline steps hand their results to it; none of them touches the socket.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "llmgw/http/answer_sink.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/connection_deadline.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/http/hang_up.hpp"

namespace llmgw::http {

class ResponseWriter final : public ClientWriter {
public:

    // `tls` is the TLS stream over `socket` for an https client, else null.
    ResponseWriter(tcp::socket& socket, TlsSocket* tls, ConnectionDeadline& deadline,
                   std::chrono::milliseconds write_timeout, unsigned client_version,
                   bool client_keep_alive, bool head_request);

    // A complete gateway-made error answer with its OpenAI-style body.
    Task<bool> send_error(const GatewayError& error, std::string_view request_id) override;
    // A complete small answer (the admin listener uses it too).
    Task<bool> send_complete(ResponseHead& head, std::string_view body);

    // Relaying: the head (framing headers are set here), then body pieces, then finish(), each
    // written at once as far as the socket takes it (AnswerSink).
    // For Framing::content_length the head or `lines` must carry Content-Length already.
    std::optional<bool> head_now(ResponseHead& head, std::string_view lines, Framing framing,
                                 HeadTiming timing) override;
    std::optional<bool> body_now(std::string_view data) override;
    std::optional<bool> finish_now() override;
    Task<bool> flush() override;
    void abort() override;
    bool take_back_head() override;
    // Fires when the client leaves while its request is handled (the session watches).
    HangUp& hang_up() override { return hang_up_; }

    bool head_sent() const { return head_started_; }
    bool keep_alive() const { return keep_alive_ && !aborted_; }
    bool chunked() const override { return framing_ == Framing::chunked; }
    int status() const override { return status_; }
    std::uint64_t body_bytes() const override { return body_bytes_; }
    std::chrono::steady_clock::duration client_waits() const override { return client_waits_; }
    // The connection must close after this answer (set before send_head / send_error).
    void close_after() override { keep_alive_ = false; }

private:
    // Up to three buffers after the pending head. (A struct, not std::array: GCC 12 cannot
    // copy an array parameter into a coroutine frame.)
    struct Parts {
        net::const_buffer first, second, third;
    };
    // Writes the pending head (if any) followed by `parts` in one gather write, as far as the
    // socket takes it now: true when all of it went (false once aborted), nullopt when the rest
    // waits in unsent_ for flush() (always, over TLS).
    std::optional<bool> write_now_or_keep(Parts parts);

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
    std::chrono::steady_clock::duration client_waits_{};
    HangUp hang_up_;
    std::string pending_head_;  // serialized, not yet written
    std::array<net::const_buffer, 4> unsent_{};  // what flush() writes
    std::string chunk_prefix_;
    // TLS: the parts of one write gathered so they leave as one record, not one per part.
    std::string tls_out_;
};

}  // namespace llmgw::http
