// Where an answer is written: the client connection (ResponseWriter), or a recording in tests.
// The response side (AnswerRelay) depends only on this, so it is tested without sockets.
#pragma once

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
    // the client is gone. For Framing::content_length the head carries Content-Length already.
    virtual Task<bool> send_head(ResponseHead& head, Framing framing, HeadTiming timing) = 0;
    virtual Task<bool> send_body(std::string_view data) = 0;
    virtual Task<bool> finish() = 0;
    // Cuts the answer short: the client sees a broken stream, never a silent truncation.
    virtual void abort() = 0;
    // Forgets a head not yet written, so an error answer can go instead; false when bytes of
    // the answer already left.
    virtual bool take_back_head() = 0;
    // The body goes out in chunks (known once the head was sent).
    virtual bool chunked() const = 0;
};

}  // namespace llmgw::http
