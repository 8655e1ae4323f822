// The spans of one sampled request: its SERVER span, the children the steps open (admission,
// its Redis call, a queue wait, one CLIENT span per upstream attempt) and what the answer
// told (first token, model, finish reasons). Only sampled requests have one.
#pragma once

#include <cstddef>
#include <optional>
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

    const TraceId& trace_id() const { return spans_[0].trace_id; }
    // The client's tracestate, passed on upstream unchanged (empty when none or unusable).
    const std::string& tracestate() const { return tracestate_; }

    // A child of `parent` started now; ended by end().
    SpanIndex start(std::string name, SpanKind kind, SpanIndex parent = server_span);
    // A child with given times (a call measured by someone else, e.g. the Redis client).
    SpanIndex add(std::string name, SpanKind kind, SpanIndex parent, TimeNs start, TimeNs end);
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

    // All spans, for the exporter (the trace is spent).
    std::vector<Span> take() { return std::move(spans_); }
    std::size_t size() const { return spans_.size(); }

private:
    std::vector<Span> spans_;
    std::string tracestate_;
    SpanIndex last_attempt_ = none;
};

}  // namespace llmgw::tracing
