// AnswerRelay: the response phases around the client sink.
#include "llmgw/http/answer_relay.hpp"

#include <charconv>

namespace llmgw::http {

std::optional<bool> AnswerRelay::head_now(AnswerHead head, std::optional<std::uint64_t> length,
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
    // The sink has the head in its own form once this returns: `head` may go.
    return settled(client_.head_now(head.fields, head.lines, framing, timing));
}

std::optional<bool> AnswerRelay::body_now(std::string_view piece) {
    const auto out = phases_.body(piece, false);
    if (out.empty()) return true;
    return settled(client_.body_now(out));
}

std::optional<bool> AnswerRelay::finish_now() {
    const auto rest = phases_.body({}, true);
    if (!rest.empty()) {
        finishing_ = Finishing::rest;
        const auto sent = settled(client_.body_now(rest));
        if (!sent || !*sent) return sent;
    }
    return end_framing();
}

std::optional<bool> AnswerRelay::end_framing() {
    finishing_ = Finishing::framing;
    const auto sent = client_.finish_now();
    if (sent) end(*sent ? AnswerEnd::complete : AnswerEnd::client_gone);
    return sent;
}

Task<bool> AnswerRelay::flush() {
    bool sent = co_await client_.flush();
    if (sent && finishing_ == Finishing::rest) {
        if (const auto now = end_framing()) co_return *now;
        sent = co_await client_.flush();
    }
    if (finishing_ == Finishing::framing)
        end(sent ? AnswerEnd::complete : AnswerEnd::client_gone);
    else if (!sent)
        end(AnswerEnd::client_gone);
    co_return sent;
}

std::optional<bool> AnswerRelay::settled(std::optional<bool> sent) {
    if (sent && !*sent) end(AnswerEnd::client_gone);
    return sent;
}

Task<bool> AnswerRelay::send_head(AnswerHead head, std::optional<std::uint64_t> length,
                                  AnswerSink::HeadTiming timing) {
    return completed(head_now(std::move(head), length, timing), *this);
}

Task<bool> AnswerRelay::send_body(std::string_view piece) {
    return completed(body_now(piece), *this);
}

Task<bool> AnswerRelay::finish() {
    return completed(finish_now(), *this);
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
