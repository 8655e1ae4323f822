// Step 7 of the pipeline, in three parts as Envoy's router: one attempt per endpoint
// (attempt.hpp), a retry decision between attempts (retry_decision.hpp), and the relay of the
// answer through the response phases (relay.hpp). Unhealthy and open endpoints are skipped;
// a client that leaves closes the upstream connection through the request's HangUp.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "llmgw/http/answer_relay.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/http/hang_up.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/failure.hpp"
#include "llmgw/upstream/fair_queue.hpp"

namespace llmgw::tracing {
class RequestTrace;
}

namespace llmgw::upstream {

struct AttemptHead;
struct RoutingHints;

// What a forward came to; the pipeline writes the access record from it.
struct ForwardOutcome {
    // Set when the forward failed before anything reached the client: answer with it.
    std::optional<http::GatewayError> error;
    // For the record: the error's code, or how a relayed answer broke (upstream_timeout,
    // upstream_reset), or client_closed. Empty when the answer went through.
    std::string error_kind;
    unsigned attempts = 0;  // sends of the request, automatic re-sends included
    std::string endpoint;   // the URL of the last endpoint tried
    std::optional<std::chrono::steady_clock::duration> first_byte;  // of the answer relayed
    bool stream = false;    // the answer went in chunks
    // Set when the request waited in the backend's queue: for how long.
    std::optional<std::chrono::steady_clock::duration> queue_wait;
    // The gateway's own time around the upstream: when the first attempt started (the end of
    // the pipeline's part), and the relay's time from each upstream read to the client write
    // done (the waits on the upstream excluded).
    std::optional<std::chrono::steady_clock::time_point> sent;
    std::chrono::steady_clock::duration relay_time{};
};

// What the endpoint choice and the queue may know about the request (each optional).
struct ForwardContext {
    const RoutingHints* hints = nullptr;      // for a backend that needs_hints()
    tracing::RequestTrace* trace = nullptr;   // a sampled request: each attempt is a span
    const FairQueue::Place* place = nullptr;  // its place in line, for a backend with a queue
    std::string_view head_lines{};            // more header lines after the request's fields
    // A traced request's traceparent value in a line of head_lines, written there for each
    // attempt (no field made and freed per attempt); empty: the field is set on the request.
    std::span<char> traceparent{};
};

class Forwarder {
public:
    Forwarder(ConnectionPool& pool, observability::Metrics& metrics)
        : pool_(pool), metrics_(metrics) {}

    // `request` is the upstream request, already rewritten; it is sent as it is. The answer
    // goes to the client through `relay`. With a trace (a sampled request), each attempt is a
    // CLIENT span whose id goes upstream in traceparent. When every endpoint is at capacity
    // the request waits in the backend's queue (if it has one) for a free slot.
    http::Task<ForwardOutcome> forward(http::Request& request, BackendState& backend,
                                       http::AnswerRelay& relay, http::HangUp& hang_up,
                                       const ForwardContext& context = {});

    struct Try;  // one forward's state (named here for forwarder.cpp's helpers)
    struct TryResult;

private:
    // The first endpoint when none had a free slot at once (`none`: nothing tried yet): after
    // waiting in the queue, or nullopt with outcome.error (or client_closed) set.
    http::Task<std::optional<BackendState::Choice>> wait_for_choice(BackendState& backend,
                                                                 const std::vector<bool>& none,
                                                                 http::HangUp& hang_up,
                                                                 const ForwardContext& context,
                                                                 ForwardOutcome& outcome);
    http::Task<TryResult> try_endpoint(Try& attempt);
    http::Task<TryResult> relay_answer(Try& attempt, AttemptHead& head);
    http::Task<bool> pause_before_retry(unsigned retry, std::chrono::steady_clock::time_point deadline,
                                        http::HangUp& hang_up);

    ConnectionPool& pool_;
    observability::Metrics& metrics_;
};

}  // namespace llmgw::upstream
