// The spans of one sampled request: its SERVER span, the children the steps open (admission,
// its Redis call, a queue wait, one CLIENT span per upstream attempt) and what the answer
// told (first token, model, finish reasons). Only sampled requests have one.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/tracing/span.hpp"
#include "llmgw/tracing/trace_context.hpp"

namespace llmgw::tracing {

// What the request says of the model call, for the GenAI attributes of each attempt.
struct GenAiRequest {
    std::string operation;  // gen_ai.operation.name: chat, text_completion, embeddings
    std::string model;      // gen_ai.request.model, as sent upstream
    std::optional<std::int64_t> max_tokens;
    bool stream = false;
};

class RequestTrace {
public:
    using SpanIndex = std::size_t;
    static constexpr SpanIndex server_span = 0;
    static constexpr SpanIndex none = static_cast<SpanIndex>(-1);

    // Continues `parent`'s trace (its span is the SERVER span's parent), or starts one.
    RequestTrace(const std::optional<TraceContext>& parent, std::string_view tracestate);
    // The same for a spent trace used again: its spans' buffers are kept (make_trace).
    void restart(const std::optional<TraceContext>& parent, std::string_view tracestate);

    const TraceId& trace_id() const { return spans_[0].trace_id; }
    // The client's tracestate, passed on upstream unchanged (empty when none or unusable).
    const std::string& tracestate() const { return tracestate_; }

    // A child of `parent` started now; ended by end(). `name` is copied.
    SpanIndex start(std::string_view name, SpanKind kind, SpanIndex parent = server_span);
    // A child with given times (a call measured by someone else, e.g. the Redis client).
    SpanIndex add(std::string_view name, SpanKind kind, SpanIndex parent, TimeNs start, TimeNs end);
    void end(SpanIndex index);
    Span& span(SpanIndex index) { return spans_[index]; }
    const Span& span(SpanIndex index) const { return spans_[index]; }

    // One upstream attempt: a CLIENT span with the GenAI request attributes, whose id goes
    // upstream in the traceparent written to `traceparent`.
    SpanIndex start_attempt(std::string_view host, std::uint16_t port, unsigned resend_count,
                            std::array<char, traceparent_length>& traceparent);
    // The attempt the answer comes from (the last one started), or none.
    SpanIndex last_attempt() const { return last_attempt_; }

    GenAiRequest genai;
    // What the answer said of itself (TraceStep), set on the attempt's span when it ends; kept
    // here, where their buffers are used again.
    std::string response_model;
    std::vector<std::string> finish_reasons;

    // The spans, for the exporter (they stay the trace's).
    std::span<const Span> spans() const { return {spans_.data(), used_}; }
    // All spans, moved out (the trace is spent).
    std::vector<Span> take() {
        spans_.resize(used_);
        used_ = 0;
        return std::move(spans_);
    }
    std::size_t size() const { return used_; }
    // How many span objects it keeps (used and spare), for the pool's bound.
    std::size_t kept() const { return spans_.size(); }

private:
    Span& next_span();

    // spans_[0, used_) are this trace's; the rest are spare, from an earlier use.
    std::vector<Span> spans_;
    std::size_t used_ = 0;
    std::string tracestate_;
    SpanIndex last_attempt_ = none;
};

// Spent traces go back to their thread's pool (a few dozen at most, each of a bounded size),
// so that a steady load allocates nothing for its traces: the trace, its spans and their
// attribute lists are used again with their buffers.
struct TraceRecycler {
    void operator()(RequestTrace* trace) const noexcept;
};
using TracePtr = std::unique_ptr<RequestTrace, TraceRecycler>;

// A trace from this thread's pool, restarted, or a new one.
TracePtr make_trace(const std::optional<TraceContext>& parent, std::string_view tracestate);

}  // namespace llmgw::tracing
