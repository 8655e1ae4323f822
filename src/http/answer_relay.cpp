// AnswerRelay: the response phases around the client sink.
#include "llmgw/http/answer_relay.hpp"

#include <charconv>

namespace llmgw::http {

Task<bool> AnswerRelay::send_head(AnswerHead head, std::optional<std::uint64_t> length,
                                  AnswerSink::HeadTiming timing) {
    head.replace("x-request-id", request_id_);
    phases_.head(head);
    status_ = static_cast<int>(head.fields.result_int());
    auto framing = AnswerSink::Framing::chunked;
    if (length) {
        framing = AnswerSink::Framing::content_length;
        if (status_ != 204 && status_ != 304) {
            // The fields never carry it: the upstream's is dropped with its framing.
            char text[24];
            const auto* end = std::to_chars(text, text + sizeof text, *length).ptr;
            head.add("Content-Length", std::string_view(text, static_cast<std::size_t>(end - text)));
        }
    }
    const bool sent = co_await client_.send_head(head.fields, head.lines, framing, timing);
    if (!sent) end(AnswerEnd::client_gone);
    co_return sent;
}

Task<bool> AnswerRelay::send_body(std::string_view piece) {
    const auto out = phases_.body(piece, false);
    if (out.empty()) co_return true;
    const bool sent = co_await client_.send_body(out);
    if (!sent) end(AnswerEnd::client_gone);
    co_return sent;
}

Task<bool> AnswerRelay::finish() {
    const auto rest = phases_.body({}, true);
    bool sent = true;
    if (!rest.empty()) sent = co_await client_.send_body(rest);
    if (sent) sent = co_await client_.finish();
    end(sent ? AnswerEnd::complete : AnswerEnd::client_gone);
    co_return sent;
}

Task<bool> AnswerRelay::cut(std::string_view last_event) {
    if (client_.take_back_head()) {
        status_ = 0;
        co_return true;
    }
    // A cut answer must not look complete: no terminating chunk, then the connection closes.
    if (!last_event.empty() && client_.chunked()) co_await client_.send_body(last_event);
    client_.abort();
    end(AnswerEnd::cut);
    co_return false;
}

void AnswerRelay::end(AnswerEnd how) {
    if (ended_) return;
    ended_ = true;
    phases_.end(how);
}

}  // namespace llmgw::http
