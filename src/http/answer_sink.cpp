// The awaited forms of an answer's steps, over their at-once forms.
#include "llmgw/http/answer_sink.hpp"

namespace llmgw::http {

Task<bool> AnswerSink::send_head(ResponseHead& head, std::string_view lines, Framing framing,
                                 HeadTiming timing) {
    if (const auto now = head_now(head, lines, framing, timing)) co_return *now;
    const bool sent = co_await flush();
    co_return sent;
}

Task<bool> AnswerSink::send_body(std::string_view data) {
    if (const auto now = body_now(data)) co_return *now;
    const bool sent = co_await flush();
    co_return sent;
}

Task<bool> AnswerSink::finish() {
    if (const auto now = finish_now()) co_return *now;
    const bool sent = co_await flush();
    co_return sent;
}

}  // namespace llmgw::http
