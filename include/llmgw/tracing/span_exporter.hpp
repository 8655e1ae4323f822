// One worker's exporter: finished traces wait in a bounded queue and go to the collector in
// batches (OTLP/HTTP protobuf), on the worker's own event loop. A request never waits for it:
// when the queue is full its spans are dropped and counted. A collector answering 429, 502,
// 503 or 504 (or not answering) is asked again after a backoff; the `tracing` section of the
// newest submitted trace's config says where and how, so a reload applies to what follows.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/tracing/span.hpp"
#include "llmgw/tracing/trace_metrics.hpp"

namespace llmgw::tracing {

class SpanExporter {
public:
    // Sends of one batch before it is dropped (the first included).
    static constexpr int max_sends = 4;

    SpanExporter(http::Executor executor, TraceMetrics& metrics);
    ~SpanExporter();
    SpanExporter(const SpanExporter&) = delete;
    SpanExporter& operator=(const SpanExporter&) = delete;

    // Queues a finished trace's spans; `config` is the snapshot's (its `tracing` is set).
    // Runs on the worker's thread. The spans are encoded before it returns: a string value
    // they view (Span::set_view) need only live until then.
    void submit(std::span<const Span> spans, const std::shared_ptr<const config::Config>& config);
    // Ends the export loop (the worker is stopping); what is still queued is dropped.
    void stop();

    std::size_t queued() const;

    struct State;  // named here for the export loop in span_exporter.cpp

private:
    std::shared_ptr<State> state_;  // shared with the export loop, which may outlive a stop
};

}  // namespace llmgw::tracing
