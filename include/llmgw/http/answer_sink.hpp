// Where an answer is written: the client connection (ResponseWriter), or a recording in tests.
// The response side (AnswerRelay) depends only on this, so it is tested without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

class AnswerSink {
public:
    enum class Framing { content_length, chunked, none };
    // Whether the head may wait for the first body piece so both leave in one write.
    enum class HeadTiming { now, with_first_piece };

    virtual ~AnswerSink() = default;
    // The head (framing headers are set here), then body pieces, then finish(); false once
    // the client is gone. `lines` are more headers as text ("name: value\r\n" each), written
    // after the head's fields. For Framing::content_length the head or the lines carry
    // Content-Length already.
    Task<bool> send_head(ResponseHead& head, std::string_view lines, Framing framing,
                         HeadTiming timing);
    Task<bool> send_body(std::string_view data);
    Task<bool> finish();

    // The same three steps, each done at once when the connection takes the bytes (nearly
    // always): the step's answer, or nullopt when it must wait, and then the awaited flush()
    // completes it (what `data` views must live until then; head_now has taken what it needs
    // of `head` and `lines` when it returns). On the relay's path a coroutine frame per step
    // and piece cost more than the step itself.
    virtual std::optional<bool> head_now(ResponseHead& head, std::string_view lines,
                                         Framing framing, HeadTiming timing) = 0;
    virtual std::optional<bool> body_now(std::string_view data) = 0;
    virtual std::optional<bool> finish_now() = 0;
    virtual Task<bool> flush() = 0;
    // Cuts the answer short: the client sees a broken stream, never a silent truncation.
    virtual void abort() = 0;
    // Forgets a head not yet written, so an error answer can go instead; false when bytes of
    // the answer already left.
    virtual bool take_back_head() = 0;
    // The body goes out in chunks (known once the head was sent).
    virtual bool chunked() const = 0;
};

// The awaited form of an at-once step (AnswerSink's, AnswerRelay's): the step's answer, or
// what the flush that completes it answers.
template <typename Flushes>
Task<bool> completed(std::optional<bool> now, Flushes& flushes) {
    if (now) co_return *now;
    const bool sent = co_await flushes.flush();
    co_return sent;
}

class HangUp;
struct GatewayError;

// What the pipeline needs of the client's side of one request: the answer sink, error
// answers, and what the access record reports. ResponseWriter writes it to the connection;
// tests record it.
class ClientWriter : public AnswerSink {
public:
    // A complete gateway-made error answer with its OpenAI-style body.
    virtual Task<bool> send_error(const GatewayError& error, std::string_view request_id) = 0;
    // The connection must close after this answer (set before the head is sent).
    virtual void close_after() = 0;
    // Fires when the client leaves while its request is handled.
    virtual HangUp& hang_up() = 0;
    virtual int status() const = 0;  // of the answer sent, 0 before a head
    virtual std::uint64_t body_bytes() const = 0;
    // How long writes waited for the client to make room (its receive window full): a wait on
    // the client, left out of the gateway's own time.
    virtual std::chrono::steady_clock::duration client_waits() const { return {}; }
};

}  // namespace llmgw::http
