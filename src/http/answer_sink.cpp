// The awaited forms of an answer's steps, over their at-once forms.
#include "llmgw/http/answer_sink.hpp"

namespace llmgw::http {

Task<bool> AnswerSink::send_head(ResponseHead& head, std::string_view lines, Framing framing,
                                 HeadTiming timing) {
    return completed(head_now(head, lines, framing, timing), *this);
}

Task<bool> AnswerSink::send_body(std::string_view data) {
    return completed(body_now(data), *this);
}

Task<bool> AnswerSink::finish() {
    return completed(finish_now(), *this);
}

}  // namespace llmgw::http
