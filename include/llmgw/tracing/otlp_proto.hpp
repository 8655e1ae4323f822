// OTLP/HTTP's protobuf encoding of spans (an ExportTraceServiceRequest, sent as
// application/x-protobuf, the protocol's default): opentelemetry-proto's messages written by
// hand, field by field, with no protobuf library.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/tracing/span.hpp"

namespace llmgw::tracing {

// An export request being written: its resource and scope when made, then each span when
// its trace ends (while its data is still in cache; the span objects are then freed), then,
// at finish(), the lengths of the enclosing messages, written in front of the spans into room
// left for them. The buffer only grows (no zero-filling) and is sent as it is.
class SpanBatch {
public:
    // One resource (service.name, service.version, telemetry.sdk.*) with one scope ("llmgw").
    // `reserve`: the bytes the whole request is expected to take (the exporter's last full
    // batch), so that the buffer is not grown and copied while it fills.
    SpanBatch(std::string_view service_name, std::string_view service_version,
              std::size_t reserve = 0);

    void append(const Span& span);
    std::size_t spans() const { return spans_; }
    // The whole request (closes it: append no more).
    std::string_view finish();

    // For the encoder: room for `n` more bytes at the returned pointer; advance() by what
    // was written. size() and at() address what is written so far (the buffer may move).
    char* room(std::size_t n) { return size_ + n <= capacity_ ? data_.get() + size_ : grow(n); }
    void advance(std::size_t n) { size_ += n; }
    std::size_t size() const { return size_; }
    char* at(std::size_t offset) { return data_.get() + offset; }
    void shrink(std::size_t n) { size_ -= n; }

private:
    char* grow(std::size_t n);

    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::size_t spans_ = 0;
    // The encoded Resource field of ResourceSpans, written in front at finish().
    std::string resource_;
    std::size_t front_ = 0;  // where the ScopeSpans body (its scope field) starts
    std::size_t begin_ = 0;  // where the finished request starts
    bool finished_ = false;
};

// The export request of `spans` at once.
std::string encode_otlp(const std::vector<Span>& spans, std::string_view service_name,
                        std::string_view service_version);

}  // namespace llmgw::tracing
