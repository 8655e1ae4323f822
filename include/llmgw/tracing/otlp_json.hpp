// OTLP/HTTP's JSON encoding of spans (an ExportTraceServiceRequest): ids as lower-case hex,
// enums as integers, 64-bit integers and times as decimal strings, lowerCamelCase names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmgw/tracing/span.hpp"

namespace llmgw::tracing {

// One resource (service.name, telemetry.sdk.*) with one scope ("llmgw") holding `spans`.
std::string encode_otlp_json(const std::vector<Span>& spans, std::string_view service_name,
                             std::string_view service_version);

}  // namespace llmgw::tracing
