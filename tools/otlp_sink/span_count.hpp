// Counting the spans of an OTLP ExportTraceServiceRequest without parsing one: the
// length-delimited fields are walked down to ScopeSpans (ExportTraceServiceRequest
// resource_spans 1 > ResourceSpans scope_spans 2 > ScopeSpans spans 2) and each span is stepped
// over by its length.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace otlp_sink {

// The number of spans in `body`, or nullopt when it does not walk as protobuf (a truncated
// varint, a field past its message, a wire type that is not 0, 1, 2 or 5).
std::optional<std::size_t> count_spans(std::string_view body);

}  // namespace otlp_sink
