// Writing spans in OTLP/HTTP's JSON encoding (opentelemetry-proto's JSON mapping, with the
// protocol's exceptions: hex ids, integer enums). Written straight into one string: a DOM
// per span cost about as much as the rest of a traced request.
#include "llmgw/tracing/otlp_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace llmgw::tracing {

namespace {

// A JSON string: quotes, backslashes and control characters escaped; other bytes as they are
// (the values are the gateway's own names, ids and models, valid UTF-8 or replaced below).
void append_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte >= 0x80) {
            // Control characters, and every non-ASCII byte (a model name from an answer need
            // not be valid UTF-8): \u00XX keeps the document valid JSON.
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
}

template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& bytes) {
    char hex[2 * N];
    to_hex(bytes, hex);
    out += '"';
    out.append(hex, 2 * N);
    out += '"';
}

// int64 and uint64 are strings in the JSON mapping (JavaScript numbers lose precision).
template <typename Integer>
void append_quoted_integer(std::string& out, Integer value) {
    out += '"';
    out += std::to_string(value);
    out += '"';
}

void append_value(std::string& out, const AttributeValue& value) {
    if (const auto* text = std::get_if<std::string>(&value)) {
        out += "{\"stringValue\":";
        append_string(out, *text);
    } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        out += "{\"intValue\":";
        append_quoted_integer(out, *integer);
    } else if (const auto* number = std::get_if<double>(&value)) {
        char text[32];
        std::snprintf(text, sizeof text, "%.17g", std::isfinite(*number) ? *number : 0.0);
        out += "{\"doubleValue\":";
        out += text;
    } else if (const auto* flag = std::get_if<bool>(&value)) {
        out += *flag ? "{\"boolValue\":true" : "{\"boolValue\":false";
    } else {
        out += "{\"arrayValue\":{\"values\":[";
        const auto& list = std::get<std::vector<std::string>>(value);
        for (std::size_t i = 0; i < list.size(); ++i) {
            out += i == 0 ? "{\"stringValue\":" : ",{\"stringValue\":";
            append_string(out, list[i]);
            out += '}';
        }
        out += "]}";
    }
    out += '}';
}

void append_attributes(std::string& out, const std::vector<Attribute>& list) {
    out += "\"attributes\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
        out += i == 0 ? "{\"key\":" : ",{\"key\":";
        append_string(out, list[i].key);
        out += ",\"value\":";
        append_value(out, list[i].value);
        out += '}';
    }
    out += ']';
}

void append_events(std::string& out, const std::vector<SpanEvent>& events) {
    out += ",\"events\":[";
    for (std::size_t i = 0; i < events.size(); ++i) {
        out += i == 0 ? "{\"timeUnixNano\":" : ",{\"timeUnixNano\":";
        append_quoted_integer(out, events[i].time);
        out += ",\"name\":";
        append_string(out, events[i].name);
        out += ',';
        append_attributes(out, events[i].attributes);
        out += '}';
    }
    out += ']';
}

void append_span(std::string& out, const Span& span) {
    out += "{\"traceId\":";
    append_hex(out, span.trace_id);
    out += ",\"spanId\":";
    append_hex(out, span.span_id);
    const bool root = std::all_of(span.parent_span_id.begin(), span.parent_span_id.end(),
                                  [](std::uint8_t b) { return b == 0; });
    if (!root) {
        out += ",\"parentSpanId\":";
        append_hex(out, span.parent_span_id);
    }
    out += ",\"name\":";
    append_string(out, span.name);
    out += ",\"kind\":";
    out += std::to_string(static_cast<int>(span.kind));
    out += ",\"startTimeUnixNano\":";
    append_quoted_integer(out, span.start);
    out += ",\"endTimeUnixNano\":";
    append_quoted_integer(out, span.end);
    out += ',';
    append_attributes(out, span.attributes);
    if (!span.events.empty()) append_events(out, span.events);
    out += ",\"status\":{\"code\":";
    out += std::to_string(static_cast<int>(span.status));
    if (!span.status_message.empty()) {
        out += ",\"message\":";
        append_string(out, span.status_message);
    }
    out += "}}";
}

}  // namespace

std::string encode_otlp_json(const std::vector<Span>& spans, std::string_view service_name,
                             std::string_view service_version) {
    std::string out;
    out.reserve(512 + spans.size() * 768);
    const std::vector<Attribute> resource{{"service.name", std::string(service_name)},
                                          {"service.version", std::string(service_version)},
                                          {"telemetry.sdk.name", std::string("llmgw")},
                                          {"telemetry.sdk.language", std::string("cpp")}};
    out += "{\"resourceSpans\":[{\"resource\":{";
    append_attributes(out, resource);
    out += "},\"scopeSpans\":[{\"scope\":{\"name\":\"llmgw\",\"version\":";
    append_string(out, service_version);
    out += "},\"spans\":[";
    for (std::size_t i = 0; i < spans.size(); ++i) {
        if (i > 0) out += ',';
        append_span(out, spans[i]);
    }
    out += "]}]}]}";
    return out;
}

}  // namespace llmgw::tracing
