// The response step of a sampled request: the first token's time (an event on the attempt's
// span), and what the answer says of itself (its model, its finish reasons). It reads field
// names and short values only: never the prompt or the completion.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "llmgw/http/response_phases.hpp"
#include "llmgw/tracing/request_trace.hpp"

namespace llmgw::tracing {

class TraceStep final : public http::ResponseStep {
public:
    explicit TraceStep(RequestTrace& trace) : trace_(trace) {}

    std::string_view on_body(std::string_view piece, bool last) override;
    void on_end(http::AnswerEnd end) override;

    // What the answer said (for tests).
    const std::string& response_model() const { return trace_.response_model; }
    const std::vector<std::string>& finish_reasons() const { return trace_.finish_reasons; }

    static constexpr std::size_t max_finish_reasons = 16;

private:
    // The end of what came kept for the next piece, and how much of the next piece is read
    // with it: a key, some space and a value of at most 128 bytes.
    static constexpr std::size_t carry_bytes = 128;
    static constexpr std::size_t seam_bytes = 256;

    void scan(std::string_view piece);
    void read(std::string_view text);
    void first_piece();

    RequestTrace& trace_;
    bool seen_body_ = false;
    std::array<char, carry_bytes> carry_;  // the end of the previous pieces
    std::size_t carry_size_ = 0;
};

}  // namespace llmgw::tracing
