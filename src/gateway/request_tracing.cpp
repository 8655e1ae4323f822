// Starting a request's trace from its traceparent and finishing its SERVER span.
#include "request_tracing.hpp"

namespace llmgw::gateway {

namespace {

tracing::TimeNs ns_of(std::chrono::system_clock::time_point time) {
    return static_cast<tracing::TimeNs>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count());
}

template <std::size_t N>
void set_if_any(tracing::Span& span, const char (&key)[N], const std::string& value) {
    if (!value.empty()) span.set(key, value);
}

}  // namespace

void start_trace(RequestContext& context) {
    const auto& tracing = context.snapshot->config().tracing;
    if (!tracing) return;
    auto& request = context.request;
    std::optional<tracing::TraceContext> parent;
    if (const auto it = request.find("traceparent"); it != request.end()) {
        parent = tracing::parse_traceparent(std::string_view(it->value()));
        // A malformed header is neither logged nor passed on: the trace starts here.
        if (!parent) {
            request.erase("traceparent");
            request.erase("tracestate");
        }
    }
    if (!tracing::should_sample(parent, tracing->sample_ratio)) {
        if (parent) tracing::to_hex(parent->trace_id, context.record.trace_id.data());
        return;  // the client's valid traceparent goes on unchanged
    }
    // The client's tracestate goes with its (valid) traceparent only: copied into the trace.
    std::string_view state;
    if (const auto it = parent ? request.find("tracestate") : request.end(); it != request.end())
        state = std::string_view(it->value());
    context.trace = tracing::make_trace(parent, state);
    request.erase("tracestate");  // each attempt sets it again with its own traceparent
    tracing::to_hex(context.trace->trace_id(), context.record.trace_id.data());
}

namespace {
constexpr std::string_view traceparent_name = "traceparent: ";
constexpr std::string_view line_end = "\r\n";
}  // namespace

void add_traceparent_line(RequestContext& context) {
    context.request.erase("traceparent");  // the client's (or a route's): each attempt's instead
    auto& lines = context.upstream_lines;
    lines.append(traceparent_name).append(tracing::traceparent_length, '0').append(line_end);
}

std::span<char> traceparent_slot(RequestContext& context) {
    auto& lines = context.upstream_lines;
    constexpr auto value = tracing::traceparent_length;
    if (!context.trace || lines.size() < traceparent_name.size() + value + line_end.size())
        return {};
    const auto at = lines.size() - line_end.size() - value;
    if (std::string_view(lines).substr(at - traceparent_name.size(), traceparent_name.size()) !=
        traceparent_name)
        return {};
    return {lines.data() + at, value};
}

void trace_admission(RequestContext& context, tracing::TimeNs started,
                     const limits::Admission::Outcome& outcome) {
    auto& trace = *context.trace;
    const auto admission =
        trace.add("llmgw.admission", tracing::SpanKind::internal,
                  tracing::RequestTrace::server_span, started, tracing::now_ns());
    // As the access record's rate_limit says it (the pipeline writes that just after).
    const auto* decision = outcome.decision ? &*outcome.decision : nullptr;
    trace.span(admission).set("llmgw.rate_limit", decision == nullptr  ? "unavailable"
                                                       : decision->admitted ? "admitted"
                                                                            : "refused");
    if (!outcome.redis_call) return;
    const auto& redis = *context.snapshot->config().redis;
    const auto call =
        trace.add("redis", tracing::SpanKind::client, admission, ns_of(outcome.redis_call->first),
                  ns_of(outcome.redis_call->second));
    auto& span = trace.span(call);
    span.set("db.system.name", "redis");
    span.set("server.address", redis.host);
    span.set("server.port", static_cast<std::int64_t>(redis.port));
    if (!outcome.decision) span.status = tracing::StatusCode::error;
}

void finish_trace(RequestContext& context, tracing::SpanExporter* exporter) {
    auto& trace = *context.trace;
    const auto& record = context.record;
    auto& server = trace.span(tracing::RequestTrace::server_span);
    // HTTP's convention: "{method} {route}", the route being low-cardinality (its name here).
    server.name.assign(record.method);
    if (!record.route.empty()) {
        server.name += ' ';
        server.name += record.route;
    }
    server.set("http.request.method", record.method);
    server.set("url.path", record.path);
    server.set("http.response.status_code", static_cast<std::int64_t>(record.status));
    server.set("llmgw.request_id", record.request_id);
    set_if_any(server, "llmgw.route", record.route);
    set_if_any(server, "llmgw.backend", record.backend);
    set_if_any(server, "llmgw.consumer", record.consumer);
    set_if_any(server, "llmgw.tier", record.tier);
    set_if_any(server, "llmgw.cache", record.cache);
    if (!record.error.empty()) server.set("error.type", record.error);
    if (record.status >= 500) server.status = tracing::StatusCode::error;
    if (const auto attempt = trace.last_attempt(); attempt != tracing::RequestTrace::none) {
        auto& span = trace.span(attempt);
        if (record.prompt_tokens)
            span.set("gen_ai.usage.input_tokens", static_cast<std::int64_t>(*record.prompt_tokens));
        if (record.completion_tokens)
            span.set("gen_ai.usage.output_tokens",
                     static_cast<std::int64_t>(*record.completion_tokens));
        if (record.tokens_estimated) span.set("llmgw.tokens_estimated", true);
    }
    trace.end(tracing::RequestTrace::server_span);
    if (exporter != nullptr) exporter->submit(trace.spans(), context.snapshot->config_ptr());
}

}  // namespace llmgw::gateway
