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
    restart(parent, tracestate);
    spans_[0].attributes.reserve(12);  // the SERVER span's attributes (finish_trace)
}

void RequestTrace::restart(const std::optional<TraceContext>& parent, std::string_view tracestate) {
    used_ = 0;
    last_attempt_ = none;
    genai.operation.clear();
    genai.model.clear();
    genai.max_tokens.reset();
    genai.stream = false;
    response_model.clear();
    finish_reasons.clear();
    tracestate_.clear();
    Span& server = next_span();
    server.trace_id = parent ? parent->trace_id : new_trace_id();
    server.parent_span_id = parent ? parent->parent_id : SpanId{};
    server.span_id = new_span_id();
    server.kind = SpanKind::server;
    server.start = now_ns();
    if (parent && acceptable_tracestate(tracestate)) tracestate_.assign(tracestate);
}

Span& RequestTrace::next_span() {
    if (used_ == spans_.size()) {
        ++used_;
        return spans_.emplace_back();
    }
    auto& span = spans_[used_++];
    span.reset();
    return span;
}

RequestTrace::SpanIndex RequestTrace::add(std::string_view name, SpanKind kind, SpanIndex parent,
                                          TimeNs start, TimeNs end) {
    const auto trace_id = spans_[0].trace_id;  // copied: next_span() may move the spans
    const auto parent_id = spans_[parent].span_id;
    Span& span = next_span();
    span.trace_id = trace_id;
    span.parent_span_id = parent_id;
    span.span_id = new_span_id();
    span.name.assign(name);
    span.kind = kind;
    span.start = start;
    span.end = end;
    return used_ - 1;
}

RequestTrace::SpanIndex RequestTrace::start(std::string_view name, SpanKind kind,
                                            SpanIndex parent) {
    return add(name, kind, parent, now_ns(), 0);
}

void RequestTrace::end(SpanIndex index) {
    if (spans_[index].end == 0) spans_[index].end = now_ns();
}

RequestTrace::SpanIndex RequestTrace::start_attempt(
    std::string_view host, std::uint16_t port, unsigned resend_count,
    std::array<char, traceparent_length>& traceparent) {
    const auto index = start({}, SpanKind::client);
    auto& span = spans_[index];
    // The GenAI convention's span name: "{gen_ai.operation.name} {gen_ai.request.model}",
    // written into the span's own (kept) buffer.
    if (genai.operation.empty()) {
        span.name.assign("upstream");
    } else {
        span.name.assign(genai.operation);
    }
    if (!genai.model.empty()) {
        span.name += ' ';
        span.name += genai.model;
    }
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

namespace {

// This thread's spent traces. A trace keeping more span objects than a usual request makes
// (a request retried many times) is not kept, nor more than `capacity` traces.
constinit thread_local bool pool_gone = false;  // the thread is ending: recycle no more

struct TracePool {
    static constexpr std::size_t capacity = 64;
    static constexpr std::size_t max_spans = 16;
    std::vector<std::unique_ptr<RequestTrace>> spent;
    TracePool() { spent.reserve(capacity); }
    ~TracePool() { pool_gone = true; }
};

TracePool& pool() {
    thread_local TracePool traces;
    return traces;
}

}  // namespace

void TraceRecycler::operator()(RequestTrace* trace) const noexcept {
    std::unique_ptr<RequestTrace> owned(trace);
    if (pool_gone) return;
    auto& traces = pool();
    if (traces.spent.size() < TracePool::capacity && owned->kept() <= TracePool::max_spans)
        traces.spent.push_back(std::move(owned));
}

TracePtr make_trace(const std::optional<TraceContext>& parent, std::string_view tracestate) {
    if (pool_gone) return TracePtr(new RequestTrace(parent, tracestate));
    auto& traces = pool();
    if (traces.spent.empty()) return TracePtr(new RequestTrace(parent, tracestate));
    TracePtr trace(traces.spent.back().release());
    traces.spent.pop_back();
    trace->restart(parent, tracestate);
    return trace;
}

}  // namespace llmgw::tracing
