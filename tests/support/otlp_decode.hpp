// A protobuf decoder for tests: an OTLP ExportTraceServiceRequest read back into the shape of
// OTLP's JSON encoding (lowerCamelCase names, hex ids, integer enums, int64s and times as
// decimal strings), so that tests assert on spans field by field.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace llmgw::testing {

// Throws std::runtime_error when `bytes` is not a well-formed message (a truncated field, a
// length past the end, a wire type that does not fit the field).
nlohmann::json decode_otlp_traces(std::string_view bytes);

}  // namespace llmgw::testing
