// OTLP/HTTP's JSON encoding of spans (an ExportTraceServiceRequest): ids as lower-case hex,
// enums as integers, 64-bit integers and times as decimal strings, lowerCamelCase names.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/tracing/span.hpp"

namespace llmgw::tracing {

// Spans already encoded, comma-separated, waiting for their export request. A span is
// encoded when its trace ends, while its data is still in cache, and then freed: a batch of
// span objects waiting for the export cost more than their text. The buffer only grows
// (no zero-filling) and is written with memcpy.
class SpanBatch {
public:
    void append(const Span& span);
    std::size_t spans() const { return spans_; }
    std::string_view text() const { return {data_.get(), size_}; }

    // For the encoder: room for `n` more bytes at the returned pointer; advance() by what
    // was written.
    char* room(std::size_t n) { return size_ + n <= capacity_ ? data_.get() + size_ : grow(n); }
    void advance(std::size_t n) { size_ += n; }

private:
    char* grow(std::size_t n);

    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::size_t spans_ = 0;
};

// The export request: one resource (service.name, telemetry.sdk.*) with one scope ("llmgw")
// holding the batch's spans.
std::string otlp_request(const SpanBatch& batch, std::string_view service_name,
                         std::string_view service_version);

// The same for spans not yet encoded.
std::string encode_otlp_json(const std::vector<Span>& spans, std::string_view service_name,
                             std::string_view service_version);

}  // namespace llmgw::tracing
