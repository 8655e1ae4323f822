// The trace's response step: the first-token event and the answer's model and finish reasons.
#include "llmgw/tracing/trace_step.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
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

// Where `"finish_reason"` starts in `text` at or after `from`, or npos. Found by its
// underscore, a byte rare in an answer's JSON (one memchr per few dozen bytes), where a
// search for the whole key stepped through the text a dozen bytes at a time.
std::size_t find_finish_reason(std::string_view text, std::size_t from) {
    constexpr std::size_t underscore = 7;  // its place in the key
    for (auto at = from + underscore; at < text.size();) {
        const auto* hit =
            static_cast<const char*>(std::memchr(text.data() + at, '_', text.size() - at));
        if (hit == nullptr) return std::string_view::npos;
        const auto found = static_cast<std::size_t>(hit - text.data());
        if (found + finish_reason_key.size() - underscore <= text.size() &&
            std::memcmp(hit - underscore, finish_reason_key.data(), finish_reason_key.size()) == 0)
            return found - underscore;
        at = found + 1;
    }
    return std::string_view::npos;
}

// Where `"model"` starts in `text` at or after `from`, or npos. A Boyer-Moore-Horspool search
// skips most bytes (the answer has a quote every few bytes: a memchr call per quote was most
// of the scan); the model comes early in an answer, and is looked for until found.
std::size_t find_model(std::string_view text, std::size_t from) {
    using Searcher = std::boyer_moore_horspool_searcher<std::string_view::const_iterator>;
    static const Searcher searcher(model_key.begin(), model_key.end());
    const auto begin = searcher(text.begin() + static_cast<std::ptrdiff_t>(from), text.end()).first;
    return begin == text.end() ? std::string_view::npos
                               : static_cast<std::size_t>(begin - text.begin());
}

// Each place of a key in `text` (`find` finds the next) with its string value, until `found`
// returns false.
template <typename Find, typename Found>
void each_value(std::string_view text, std::size_t key_size, Find find, Found found) {
    for (std::size_t at = 0; at < text.size();) {
        const auto begin = find(text, at);
        if (begin == std::string_view::npos) return;
        const auto value = string_value(text, begin + key_size);
        if (value && !found(*value)) return;
        at = begin + 1;
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
    // The first model wins; finish reasons are kept once each, in the order they come.
    auto& model = trace_.response_model;
    auto& reasons = trace_.finish_reasons;
    if (model.empty())
        each_value(text, model_key.size(), find_model, [&](std::string_view value) {
            model.assign(value);
            return false;
        });
    each_value(text, finish_reason_key.size(), find_finish_reason, [&](std::string_view value) {
        const bool known = std::find(reasons.begin(), reasons.end(), value) != reasons.end();
        if (!known && reasons.size() < max_finish_reasons) reasons.emplace_back(value);
        return true;
    });
}

void TraceStep::on_end(http::AnswerEnd end) {
    const auto attempt = trace_.last_attempt();
    if (attempt == RequestTrace::none) return;  // a cache replay: no model call to describe
    auto& span = trace_.span(attempt);
    if (!trace_.response_model.empty())
        span.set("gen_ai.response.model", std::string_view(trace_.response_model));
    if (!trace_.finish_reasons.empty())
        span.set("gen_ai.response.finish_reasons",
                      std::span<const std::string>(trace_.finish_reasons));
    if (end == http::AnswerEnd::cut) span.set("llmgw.answer", "cut");
    if (end == http::AnswerEnd::client_gone) span.set("llmgw.answer", "client_gone");
}

}  // namespace llmgw::tracing
