// The export loop: wait for a full batch or the flush interval, send, back off and send
// again on a collector's 429/502/503/504, count what went and what was dropped.
#include "llmgw/tracing/span_exporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

#include "llmgw/tls/client_context.hpp"
#include "llmgw/tracing/collector_client.hpp"
#include "llmgw/tracing/otlp_proto.hpp"

namespace llmgw::tracing {

namespace net = http::net;

struct SpanExporter::State {
    State(http::Executor executor, TraceMetrics& metrics, std::string version)
        : wake(executor), pause(executor), metrics(metrics), service_version(std::move(version)) {}

    http::Timer wake;   // the loop sleeps on it; a full batch cuts the sleep short
    http::Timer pause;  // the backoff before a batch is sent again
    TraceMetrics& metrics;
    std::string service_version;
    // Encoded spans, oldest batch first; only the last one is still filling.
    std::deque<SpanBatch> queue;
    std::size_t queued_spans = 0;
    // The largest export request sent so far (and a little more): what a new batch reserves.
    std::size_t batch_bytes = 0;
    std::shared_ptr<const config::Config> config;  // the newest submitted trace's
    bool running = false;
    bool stopped = false;
    // The https collector's TLS context, made again when the collector or its tls change.
    std::unique_ptr<tls::ClientContext> tls;
    std::optional<config::TracingConfig> tls_made_for;
    bool failing = false;  // logged once per run of failures, not per batch

    const config::TracingConfig& tracing() const { return *config->tracing; }
    tls::ClientContext* tls_context();
};

namespace {

bool retryable(const ExportResult& result) {
    return result.status == 0 || result.status == 429 || result.status == 502 ||
           result.status == 503 || result.status == 504;
}

// 250 ms, 500 ms, 1 s, ... or the collector's Retry-After (at most 30 s).
std::chrono::milliseconds backoff(int send, const ExportResult& result) {
    if (result.retry_after_seconds > 0)
        return std::chrono::seconds(std::min(result.retry_after_seconds, 30));
    return std::chrono::milliseconds(250) * (1 << send);
}

bool full(const SpanExporter::State& state) {
    return !state.queue.empty() && state.queue.front().spans() >= state.tracing().batch_size;
}

SpanBatch take_batch(SpanExporter::State& state) {
    auto batch = std::move(state.queue.front());
    state.queue.pop_front();
    state.queued_spans -= batch.spans();
    return batch;
}

// Sends one batch, again after a backoff while the collector asks for it; true when taken.
http::Task<bool> send_batch(std::shared_ptr<SpanExporter::State> state, std::string_view body) {
    for (int send = 0; send < SpanExporter::max_sends && !state->stopped; ++send) {
        const auto config = state->config;  // kept alive across the send
        const auto& tracing = *config->tracing;
        auto result = co_await post_spans(tracing, state->tls_context(), body);
        if (result.status >= 200 && result.status < 300) {
            if (state->failing) spdlog::info("tracing: the collector takes spans again");
            state->failing = false;
            co_return true;
        }
        if (!state->failing)  // the URL and status only: headers may hold credentials
            spdlog::warn(
                "tracing: export to {} failed: {}", tracing.collector.url,
                result.status != 0 ? "HTTP " + std::to_string(result.status) : result.failure);
        state->failing = true;
        if (!retryable(result) || send + 1 == SpanExporter::max_sends) break;
        state->pause.expires_after(backoff(send, result));
        co_await state->pause.async_wait(net::as_tuple(http::use_awaitable));
    }
    co_return false;
}

http::Task<void> export_loop(std::shared_ptr<SpanExporter::State> state) {
    while (!state->stopped) {
        // A partial batch goes when the flush interval is over; a full one at once. Spans
        // that came in while a batch was being sent wait for theirs to fill (or for the
        // interval): sending each leftover at once made an export, and a connection, per
        // few requests under load.
        bool due = false;  // the flush interval says the partial batch must go now
        if (!full(*state)) {
            state->wake.expires_after(state->tracing().flush_interval);
            auto [ec] = co_await state->wake.async_wait(net::as_tuple(http::use_awaitable));
            due = !ec;  // cancelled: a batch is full, or the exporter stops
        }
        // Every full batch; the partial one only when due (it is then taken out: what comes
        // during the sends starts the next batch).
        while (!state->stopped && (full(*state) || (due && !state->queue.empty()))) {
            due = due && state->queue.size() > 1;
            auto batch = take_batch(*state);
            const auto body = batch.finish();
            state->batch_bytes = std::max(state->batch_bytes, body.size() + body.size() / 8);
            const bool sent = co_await send_batch(state, body);
            if (sent)
                state->metrics.exported(batch.spans());
            else
                state->metrics.dropped("export_failed", batch.spans());
        }
    }
    state->running = false;
}

}  // namespace

tls::ClientContext* SpanExporter::State::tls_context() {
    const auto& current = tracing();
    if (!current.collector.tls) return nullptr;
    if (!tls || !tls_made_for || tls_made_for->collector != current.collector ||
        tls_made_for->tls != current.tls) {
        tls.reset();
        try {
            tls = std::make_unique<tls::ClientContext>("tracing",
                                                       current.tls.value_or(config::BackendTls{}));
        } catch (const std::exception& e) {
            spdlog::warn("tracing: no TLS context for the collector: {}", e.what());
        }
        tls_made_for = current;
    }
    return tls.get();
}

SpanExporter::SpanExporter(http::Executor executor, TraceMetrics& metrics)
    : state_(std::make_shared<State>(std::move(executor), metrics, LLMGW_VERSION)) {}

SpanExporter::~SpanExporter() {
    stop();
}

void SpanExporter::stop() {
    state_->stopped = true;
    state_->wake.cancel();
    state_->pause.cancel();
}

std::size_t SpanExporter::queued() const {
    return state_->queued_spans;
}

void SpanExporter::submit(std::span<const Span> spans,
                          const std::shared_ptr<const config::Config>& config) {
    auto& state = *state_;
    if (state.stopped || !config || !config->tracing) return;
    const auto& tracing = *config->tracing;
    if (state.config != config) state.config = config;
    if (state.queued_spans + spans.size() > tracing.max_queue) {
        state.metrics.dropped("queue_full", spans.size());
        return;
    }
    for (const auto& span : spans) {
        if (state.queue.empty() || state.queue.back().spans() >= tracing.batch_size)
            state.queue.emplace_back(tracing.service_name, state.service_version,
                                     state.batch_bytes);
        state.queue.back().append(span);
    }
    state.queued_spans += spans.size();
    if (!state.running) {
        state.running = true;
        net::co_spawn(state.wake.get_executor(), export_loop(state_), net::detached);
    } else if (full(state)) {
        state.wake.cancel();
    }
}

}  // namespace llmgw::tracing
