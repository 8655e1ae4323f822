// The pipeline's side of tracing: the trace context read from the request (W3C traceparent),
// the sampling decision, and the SERVER span's attributes once the request is done.
#pragma once

#include <span>

#include "llmgw/gateway/request_context.hpp"
#include "llmgw/limits/admission.hpp"
#include "llmgw/tracing/span_exporter.hpp"

namespace llmgw::gateway {

// With tracing configured: a malformed traceparent (and its tracestate) is dropped, the trace
// id goes into the access record, and a sampled request gets its RequestTrace. Without
// tracing, nothing changes: the client's headers go on as they came.
void start_trace(RequestContext& context);

// The admission span (and its Redis call), from the admission's start and what it did.
void trace_admission(RequestContext& context, tracing::TimeNs started,
                     const limits::Admission::Outcome& outcome);

// A traced request's traceparent goes upstream as the last of its upstream lines (after the
// request's own traceparent field, if any, is dropped); its value is written there for each
// attempt, at the place traceparent_slot() gives (empty when the lines do not end with it).
void add_traceparent_line(RequestContext& context);
std::span<char> traceparent_slot(RequestContext& context);

// The SERVER span's attributes, the usage on the last attempt, and the spans to `exporter`.
void finish_trace(RequestContext& context, tracing::SpanExporter* exporter);

}  // namespace llmgw::gateway
