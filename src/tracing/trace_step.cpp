// The trace's response step: the first-token event and the answer's model and finish reasons.
#include "llmgw/tracing/trace_step.hpp"

#include <algorithm>
#include <optional>

namespace llmgw::tracing {

namespace {

constexpr std::size_t max_value_bytes = 128;

constexpr std::string_view model_key = "\"model\"";
constexpr std::string_view finish_reason_key = "\"finish_reason\"";

// The string value after `"key"` at `at` in `text` (JSON whitespace allowed around the
// colon); empty for a value that is not a string (null) or not complete yet.
std::optional<std::string_view> string_value(std::string_view text, std::size_t at) {
    auto skip_space = [&] {
        while (at < text.size() &&
               (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
            ++at;
    };
    skip_space();
    if (at >= text.size() || text[at] != ':') return std::nullopt;
    ++at;
    skip_space();
    if (at >= text.size() || text[at] != '"') return std::nullopt;
    const auto close = text.find('"', at + 1);
    if (close == std::string_view::npos || close - at - 1 > max_value_bytes) return std::nullopt;
    return text.substr(at + 1, close - at - 1);
}

// The string values of each `"model"` (while `want_model()`) and `"finish_reason"` in `text`,
// in one pass over its quotes.
template <typename WantModel, typename Found>
void each_field(std::string_view text, WantModel want_model, Found found) {
    for (auto at = text.find('"'); at != std::string_view::npos; at = text.find('"', at + 1)) {
        // Most quotes open neither key: one byte tells, before any comparison.
        if (at + 1 < text.size() && text[at + 1] != 'm' && text[at + 1] != 'f') continue;
        const auto rest = text.substr(at);
        const bool model = rest.starts_with(model_key) && want_model();
        if (!model && !rest.starts_with(finish_reason_key)) continue;
        const auto key = model ? model_key : finish_reason_key;
        if (const auto value = string_value(text, at + key.size())) found(model, *value);
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
    each_field(
        text, [&] { return model_.empty(); },
        [&](bool model, std::string_view value) {
            if (model) {
                model_ = std::string(value);
                return;
            }
            const bool known = std::find(finish_reasons_.begin(), finish_reasons_.end(),
                                         value) != finish_reasons_.end();
            if (!known && finish_reasons_.size() < max_finish_reasons)
                finish_reasons_.emplace_back(value);
        });
}

void TraceStep::on_end(http::AnswerEnd end) {
    const auto attempt = trace_.last_attempt();
    if (attempt == RequestTrace::none) return;  // a cache replay: no model call to describe
    auto& span = trace_.span(attempt);
    if (!model_.empty()) span.set("gen_ai.response.model", model_);
    if (!finish_reasons_.empty()) span.set("gen_ai.response.finish_reasons", finish_reasons_);
    if (end == http::AnswerEnd::cut) span.set_view("llmgw.answer", "cut");
    if (end == http::AnswerEnd::client_gone) span.set_view("llmgw.answer", "client_gone");
}

}  // namespace llmgw::tracing
