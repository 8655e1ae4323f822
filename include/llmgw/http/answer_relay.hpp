// The one way an answer reaches the client, from an upstream or from the cache: the head is
// assembled here (its fields, x-request-id, the response steps, then framing), each body piece
// passes through the steps, and the steps hear once how the answer ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llmgw/http/answer_sink.hpp"
#include "llmgw/http/response_phases.hpp"

namespace llmgw::http {

class AnswerRelay {
public:
    // `request_id` must outlive the relay (it is the request's own).
    AnswerRelay(AnswerSink& client, const ResponsePhases& phases, std::string_view request_id)
        : client_(client), phases_(phases), request_id_(request_id) {}

    // `head.fields` holds the status and the answer's end-to-end headers; `length` is the body's
    // length, or nullopt when it goes in chunks. False when the client is gone.
    Task<bool> send_head(AnswerHead head, std::optional<std::uint64_t> length,
                         AnswerSink::HeadTiming timing);
    Task<bool> send_body(std::string_view piece);
    // The body ended: what the steps held back goes out, then the end of the framing.
    Task<bool> finish();

    // The same steps done at once when the client's connection takes them (AnswerSink): the
    // step's answer, or nullopt when it must wait, and then the awaited flush() completes it.
    // `piece` must live until then. The upstream relay's path, where they nearly always do.
    std::optional<bool> head_now(AnswerHead head, std::optional<std::uint64_t> length,
                                 AnswerSink::HeadTiming timing);
    std::optional<bool> body_now(std::string_view piece);
    std::optional<bool> finish_now();
    Task<bool> flush();
    // The answer broke after its head: when nothing of it was written yet, the head is taken
    // back (true) and an error answer may go instead; else the client sees a cut answer,
    // with `last_event` first for an event stream (SDKs raise it as an error).
    Task<bool> cut(std::string_view last_event);

    int status() const { return status_; }
    bool ended() const { return ended_; }

private:
    void end(AnswerEnd how);
    // A step's answer from the client: the client gone ends the answer.
    std::optional<bool> settled(std::optional<bool> sent);
    // finish_now: the end of the framing, and with it the answer's end.
    std::optional<bool> end_framing();

    AnswerSink& client_;
    const ResponsePhases& phases_;
    std::string_view request_id_;
    int status_ = 0;
    bool ended_ = false;
    // What a flush() after finish_now completes: the pieces the steps held back (then the
    // framing's end is still to go), or the framing's end.
    enum class Finishing { no, rest, framing };
    Finishing finishing_ = Finishing::no;
};

}  // namespace llmgw::http
