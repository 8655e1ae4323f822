// A request's spans: ids linked parent to child, times taken when a step starts and ends.
#include "llmgw/tracing/request_trace.hpp"

#include <algorithm>

namespace llmgw::tracing {

TimeNs now_ns() {
    return static_cast<TimeNs>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

const AttributeValue* Span::find(std::string_view key) const {
    const auto it = std::find_if(attributes.begin(), attributes.end(),
                                 [&](const Attribute& a) { return a.key == key; });
    return it == attributes.end() ? nullptr : &it->value;
}

RequestTrace::RequestTrace(const std::optional<TraceContext>& parent, std::string_view tracestate) {
    spans_.reserve(6);  // server, admission, redis, and a few attempts
    Span& server = spans_.emplace_back();
    server.trace_id = parent ? parent->trace_id : new_trace_id();
    if (parent) server.parent_span_id = parent->parent_id;
    server.span_id = new_span_id();
    server.kind = SpanKind::server;
    server.attributes.reserve(12);  // the SERVER span's attributes (finish_trace)
    server.start = now_ns();
    if (parent && acceptable_tracestate(tracestate)) tracestate_ = std::string(tracestate);
}

RequestTrace::SpanIndex RequestTrace::add(std::string name, SpanKind kind, SpanIndex parent,
                                          TimeNs start, TimeNs end) {
    Span span;
    span.trace_id = spans_[0].trace_id;
    span.parent_span_id = spans_[parent].span_id;
    span.span_id = new_span_id();
    span.name = std::move(name);
    span.kind = kind;
    span.start = start;
    span.end = end;
    spans_.push_back(std::move(span));
    return spans_.size() - 1;
}

RequestTrace::SpanIndex RequestTrace::start(std::string name, SpanKind kind, SpanIndex parent) {
    return add(std::move(name), kind, parent, now_ns(), 0);
}

void RequestTrace::end(SpanIndex index) {
    if (spans_[index].end == 0) spans_[index].end = now_ns();
}

RequestTrace::SpanIndex RequestTrace::start_attempt(
    std::string_view host, std::uint16_t port, unsigned resend_count,
    std::array<char, traceparent_length>& traceparent) {
    // The GenAI convention's span name: "{gen_ai.operation.name} {gen_ai.request.model}".
    std::string name = genai.operation.empty() ? std::string("upstream") : genai.operation;
    if (!genai.model.empty()) name += " " + genai.model;
    const auto index = start(std::move(name), SpanKind::client);
    auto& span = spans_[index];
    span.attributes.reserve(16);  // these, the answer's and the usage's: one allocation
    span.set("server.address", std::string(host));
    span.set("server.port", static_cast<std::int64_t>(port));
    span.set("http.request.resend_count", static_cast<std::int64_t>(resend_count));
    if (!genai.operation.empty()) {
        // Views: `genai` lives as long as the trace.
        span.set_view("gen_ai.operation.name", genai.operation);
        span.set_view("gen_ai.provider.name", "openai");
        if (!genai.model.empty()) span.set_view("gen_ai.request.model", genai.model);
        if (genai.max_tokens) span.set("gen_ai.request.max_tokens", *genai.max_tokens);
        span.set("gen_ai.request.stream", genai.stream);
    }
    format_traceparent(span.trace_id, span.span_id, true, traceparent);
    last_attempt_ = index;
    return index;
}

}  // namespace llmgw::tracing
