// The pipeline's side of tracing: the trace context read from the request (W3C traceparent),
// the sampling decision, and the SERVER span's attributes once the request is done.
#pragma once

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

// The SERVER span's attributes, the usage on the last attempt, and the spans to `exporter`.
void finish_trace(RequestContext& context, tracing::SpanExporter* exporter);

}  // namespace llmgw::gateway
