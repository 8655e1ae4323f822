// Writing spans in OTLP/HTTP's JSON encoding (opentelemetry-proto's JSON mapping, with the
// protocol's exceptions: hex ids, integer enums).
#include "llmgw/tracing/otlp_json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace llmgw::tracing {

namespace {

using nlohmann::json;

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
    std::string out(2 * N, '0');
    to_hex(bytes, out.data());
    return out;
}

json any_value(const AttributeValue& value) {
    struct Visit {
        json operator()(const std::string& s) const { return {{"stringValue", s}}; }
        // int64 is a string in the JSON mapping (JavaScript numbers lose precision).
        json operator()(std::int64_t i) const { return {{"intValue", std::to_string(i)}}; }
        json operator()(double d) const { return {{"doubleValue", d}}; }
        json operator()(bool b) const { return {{"boolValue", b}}; }
        json operator()(const std::vector<std::string>& list) const {
            json values = json::array();
            for (const auto& s : list) values.push_back({{"stringValue", s}});
            return {{"arrayValue", {{"values", std::move(values)}}}};
        }
    };
    return std::visit(Visit{}, value);
}

json attributes(const std::vector<Attribute>& list) {
    json out = json::array();
    for (const auto& attribute : list)
        out.push_back({{"key", attribute.key}, {"value", any_value(attribute.value)}});
    return out;
}

json encode_span(const Span& span) {
    json out = {{"traceId", hex(span.trace_id)},
                {"spanId", hex(span.span_id)},
                {"name", span.name},
                {"kind", static_cast<int>(span.kind)},
                {"startTimeUnixNano", std::to_string(span.start)},
                {"endTimeUnixNano", std::to_string(span.end)},
                {"attributes", attributes(span.attributes)}};
    const bool root = std::all_of(span.parent_span_id.begin(), span.parent_span_id.end(),
                                  [](std::uint8_t b) { return b == 0; });
    if (!root) out["parentSpanId"] = hex(span.parent_span_id);
    if (!span.events.empty()) {
        json events = json::array();
        for (const auto& event : span.events)
            events.push_back({{"timeUnixNano", std::to_string(event.time)},
                              {"name", event.name},
                              {"attributes", attributes(event.attributes)}});
        out["events"] = std::move(events);
    }
    json status = {{"code", static_cast<int>(span.status)}};
    if (!span.status_message.empty()) status["message"] = span.status_message;
    out["status"] = std::move(status);
    return out;
}

}  // namespace

std::string encode_otlp_json(const std::vector<Span>& spans, std::string_view service_name,
                             std::string_view service_version) {
    json encoded = json::array();
    for (const auto& span : spans) encoded.push_back(encode_span(span));
    const std::vector<Attribute> resource{{"service.name", std::string(service_name)},
                                          {"service.version", std::string(service_version)},
                                          {"telemetry.sdk.name", std::string("llmgw")},
                                          {"telemetry.sdk.language", std::string("cpp")}};
    json request = {
        {"resourceSpans",
         json::array(
             {{{"resource", {{"attributes", attributes(resource)}}},
               {"scopeSpans",
                json::array(
                    {{{"scope", {{"name", "llmgw"}, {"version", std::string(service_version)}}},
                      {"spans", std::move(encoded)}}})}}})}};
    return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace llmgw::tracing
