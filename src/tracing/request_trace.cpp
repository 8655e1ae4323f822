// A request's spans: ids linked parent to child, times taken when a step starts and ends.
#include "llmgw/tracing/request_trace.hpp"

#include <algorithm>
#include <bit>

namespace llmgw::tracing {

TimeNs now_ns() {
    return static_cast<TimeNs>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

namespace {

// A reader of the protobuf the span's setters wrote (which is well formed).
struct ProtoIn {
    std::string_view bytes;
    std::size_t at = 0;

    std::uint64_t varint() {
        std::uint64_t value = 0;
        for (unsigned shift = 0;; shift += 7) {
            const auto byte = static_cast<unsigned char>(bytes[at++]);
            value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if (byte < 0x80) return value;
        }
    }
    std::string_view delimited() {
        const auto size = static_cast<std::size_t>(varint());
        const auto field = bytes.substr(at, size);
        at += size;
        return field;
    }
};

// An AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5
// (its values 1, each an AnyValue with a string_value).
AttributeValue any_value(std::string_view bytes) {
    ProtoIn in{bytes};
    switch (in.varint()) {
        case 1 << 3 | 2:
            return in.delimited();
        case 2 << 3:
            return in.varint() != 0;
        case 3 << 3:
            return static_cast<std::int64_t>(in.varint());
        case 4 << 3 | 1: {
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i)
                bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[in.at + i]))
                        << (8 * i);
            return std::bit_cast<double>(bits);
        }
        default: {
            ProtoIn array{in.delimited()};
            std::vector<std::string> list;
            while (array.at < array.bytes.size()) {
                array.varint();
                ProtoIn element{array.delimited()};
                element.varint();
                list.emplace_back(element.delimited());
            }
            return list;
        }
    }
}

}  // namespace

std::optional<AttributeValue> Span::find(std::string_view key) const {
    ProtoIn in{attributes.bytes()};
    while (in.at < in.bytes.size()) {
        in.varint();  // the attributes field's key
        ProtoIn pair{in.delimited()};
        pair.varint();
        const auto name = pair.delimited();
        pair.varint();
        if (name == key) return any_value(pair.delimited());
    }
    return std::nullopt;
}

RequestTrace::RequestTrace(const std::optional<TraceContext>& parent, std::string_view tracestate) {
    spans_.reserve(6);  // server, admission, redis, and a few attempts
    restart(parent, tracestate);
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
    span.set("server.address", host);
    span.set("server.port", static_cast<std::int64_t>(port));
    span.set("http.request.resend_count", static_cast<std::int64_t>(resend_count));
    if (!genai.operation.empty()) {
        span.set("gen_ai.operation.name", genai.operation);
        span.set("gen_ai.provider.name", "openai");
        if (!genai.model.empty()) span.set("gen_ai.request.model", genai.model);
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
