// The response side of the pipeline: every step that needs the answer (rate-limit headers,
// x-cache, usage, the cache copy, later tracing) sees it in three phases, called in order by one
// relay (AnswerRelay) whether the answer comes from an upstream or from the cache.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "llmgw/http/beast.hpp"

namespace llmgw::http {

// The head of an answer before it is sent: its status and end-to-end headers, and how its
// body will travel. Steps may add or change headers; framing headers are set after them.
struct AnswerHead {
    ResponseHead& fields;
    bool event_stream = false;  // text/event-stream
    bool chunked = false;       // relayed piece by piece, its length unknown
    bool replayed = false;      // from the response cache
};

// How an answer ended: all of it reached the client, it was cut (the upstream failed after the
// head was sent), or the client went away.
enum class AnswerEnd { complete, cut, client_gone };

class ResponseStep {
public:
    virtual ~ResponseStep() = default;
    // Before the head is sent.
    virtual void on_head(AnswerHead& /*head*/) {}
    // A piece of the body on its way to the client: returns what goes on (valid until the next
    // call). After the last piece comes one call with `last` set and an empty piece, so a step
    // that held bytes back can let them go.
    virtual std::string_view on_body(std::string_view piece, bool /*last*/) { return piece; }
    // Once, when the answer ended; never when no head was sent.
    virtual void on_end(AnswerEnd /*end*/) {}
};

// The steps of one request, in the order they run (a fixed few: no allocation per request).
class ResponsePhases {
public:
    static constexpr std::size_t max_steps = 8;

    void add(ResponseStep& step) { steps_[count_++] = &step; }

    void head(AnswerHead& head) const {
        for (std::size_t i = 0; i < count_; ++i) steps_[i]->on_head(head);
    }
    std::string_view body(std::string_view piece, bool last) const {
        for (std::size_t i = 0; i < count_; ++i) {
            piece = steps_[i]->on_body(piece, last);
            if (piece.empty() && !last) break;  // held back: nothing for the later steps yet
        }
        return piece;
    }
    void end(AnswerEnd end) const {
        for (std::size_t i = 0; i < count_; ++i) steps_[i]->on_end(end);
    }

private:
    std::array<ResponseStep*, max_steps> steps_{};
    std::size_t count_ = 0;
};

}  // namespace llmgw::http
