// The trace's response step: the first-token event and the answer's model and finish reasons.
#include "llmgw/tracing/trace_step.hpp"

#include <algorithm>

namespace llmgw::tracing {

namespace {

constexpr std::size_t max_value_bytes = 128;

// The string value after each `"key"` in `text` (JSON whitespace allowed around the colon);
// values that are not strings (null) or not complete yet are skipped.
template <typename Found>
void each_string_value(std::string_view text, std::string_view quoted_key, Found found) {
    for (auto at = text.find(quoted_key); at != std::string_view::npos;
         at = text.find(quoted_key, at + 1)) {
        auto i = at + quoted_key.size();
        auto skip_space = [&] {
            while (i < text.size() &&
                   (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
                ++i;
        };
        skip_space();
        if (i >= text.size() || text[i] != ':') continue;
        ++i;
        skip_space();
        if (i >= text.size() || text[i] != '"') continue;
        const auto close = text.find('"', i + 1);
        if (close == std::string_view::npos || close - i - 1 > max_value_bytes) continue;
        found(text.substr(i + 1, close - i - 1));
    }
}

}  // namespace

void TraceStep::first_piece() {
    const auto attempt = trace_.last_attempt();
    auto& span = trace_.span(attempt == RequestTrace::none ? RequestTrace::server_span : attempt);
    const auto now = now_ns();
    span.events.push_back({"llmgw.first_token", now, {}});
    // The GenAI convention's name for the time to the first chunk, in seconds.
    span.set("gen_ai.response.time_to_first_chunk", static_cast<double>(now - span.start) / 1e9);
}

std::string_view TraceStep::on_body(std::string_view piece, bool /*last*/) {
    if (piece.empty()) return piece;
    if (!seen_body_) {
        seen_body_ = true;
        first_piece();
    }
    scan(piece);
    return piece;
}

void TraceStep::scan(std::string_view piece) {
    // A field may straddle two pieces: read the seam (the end of the last piece and the
    // start of this one), then this piece where it is, not copied. A field read twice
    // changes nothing: the first model wins and finish reasons are kept once.
    if (carry_size_ > 0) {
        std::array<char, carry_bytes + seam_bytes> seam;
        const auto head = piece.substr(0, seam_bytes);
        std::copy_n(carry_.data(), carry_size_, seam.data());
        std::copy_n(head.data(), head.size(), seam.data() + carry_size_);
        read(std::string_view(seam.data(), carry_size_ + head.size()));
    }
    read(piece);
    // Keep the last carry_bytes of what came so far.
    if (piece.size() >= carry_bytes) {
        std::copy_n(piece.end() - carry_bytes, carry_bytes, carry_.data());
        carry_size_ = carry_bytes;
        return;
    }
    const auto kept = std::min(carry_size_, carry_bytes - piece.size());
    std::copy(carry_.data() + carry_size_ - kept, carry_.data() + carry_size_, carry_.data());
    std::copy_n(piece.data(), piece.size(), carry_.data() + kept);
    carry_size_ = kept + piece.size();
}

void TraceStep::read(std::string_view text) {
    if (model_.empty())
        each_string_value(text, "\"model\"", [&](std::string_view model) {
            if (model_.empty()) model_ = std::string(model);
        });
    each_string_value(text, "\"finish_reason\"", [&](std::string_view reason) {
        const bool known = std::find(finish_reasons_.begin(), finish_reasons_.end(), reason) !=
                           finish_reasons_.end();
        if (!known && finish_reasons_.size() < max_finish_reasons)
            finish_reasons_.emplace_back(reason);
    });
}

void TraceStep::on_end(http::AnswerEnd end) {
    const auto attempt = trace_.last_attempt();
    if (attempt == RequestTrace::none) return;  // a cache replay: no model call to describe
    auto& span = trace_.span(attempt);
    if (!model_.empty()) span.set("gen_ai.response.model", model_);
    if (!finish_reasons_.empty()) span.set("gen_ai.response.finish_reasons", finish_reasons_);
    if (end == http::AnswerEnd::cut) span.set("llmgw.answer", std::string("cut"));
    if (end == http::AnswerEnd::client_gone) span.set("llmgw.answer", std::string("client_gone"));
}

}  // namespace llmgw::tracing
