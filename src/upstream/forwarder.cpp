// The forward: pick an endpoint, attempt, decide on a retry, relay the answer.
#include "llmgw/upstream/forwarder.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "attempt.hpp"
#include "llmgw/tracing/request_trace.hpp"
#include "llmgw/upstream/backend_queue.hpp"
#include "llmgw/upstream/retry_decision.hpp"
#include "llmgw/upstream/routing_hints.hpp"
#include "relay.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace bhttp = http::beast::http;

namespace {

// Holds a request's estimated tokens on its endpoint while it runs (engine-aware backends;
// nothing at all without hints).
class TokensInFlight {
public:
    TokensInFlight(std::atomic<std::int64_t>& counter, const RoutingHints* hints)
        : counter_(hints != nullptr ? &counter : nullptr),
          tokens_(hints != nullptr ? hints->estimated_tokens : 0) {
        if (counter_) counter_->fetch_add(tokens_, std::memory_order_relaxed);
    }
    ~TokensInFlight() {
        if (counter_) counter_->fetch_sub(tokens_, std::memory_order_relaxed);
    }
    TokensInFlight(const TokensInFlight&) = delete;
    TokensInFlight& operator=(const TokensInFlight&) = delete;

private:
    std::atomic<std::int64_t>* counter_;
    std::int64_t tokens_;
};

// The last upstream 502/503 held back for a retry that could not happen: passed on as it was.
http::GatewayError upstream_unavailable(unsigned status) {
    auto error = http::make_error(http::ErrorCode::upstream_unavailable,
                                  "every endpoint tried answered " + std::to_string(status));
    error.status = static_cast<int>(status);
    return error;
}

std::string error_event(std::string_view kind, bool timeout) {
    auto error = http::make_error(timeout ? http::ErrorCode::upstream_timeout
                                          : http::ErrorCode::upstream_reset,
                                  timeout ? "the upstream stopped sending in time"
                                          : "the upstream connection broke");
    error.code = std::string(kind);
    return "data: " + http::error_body(error) + "\n\n";
}

}  // namespace

// One forward's state, handed from the endpoint loop to each try.
struct Forwarder::Try {
    http::Request& request;
    BackendState& backend;
    http::AnswerRelay& relay;
    http::HangUp& hang_up;
    AttemptLimits limits;
    ForwardOutcome& outcome;
    const RoutingHints* hints = nullptr;
    tracing::RequestTrace* trace = nullptr;
    std::string_view head_lines{};  // ForwardContext's
    std::span<char> traceparent{};  // ForwardContext's
    std::size_t span = 0;  // the current attempt's span in `trace`
    EndpointState* endpoint = nullptr;
    const CircuitBreaker::Ticket* ticket = nullptr;
    EndpointSlot* slot = nullptr;  // the endpoint's; relay_body gives it back early
    bool hold_back_answer = false;  // an upstream 502/503 may be retried elsewhere
};

// What one try left: done (answered, cut, or the client left), or a retry condition.
struct Forwarder::TryResult {
    bool done = false;
    std::optional<config::RetryOn> condition{};
};

namespace {

// The attempt's CLIENT span; the upstream learns its id (traceparent) and the client's
// tracestate.
void start_attempt_span(Forwarder::Try& attempt) {
    const auto& endpoint = attempt.endpoint->endpoint;
    std::array<char, tracing::traceparent_length> traceparent;
    attempt.span = attempt.trace->start_attempt(endpoint.host, endpoint.port,
                                                attempt.outcome.attempts - 1, traceparent);
    if (attempt.traceparent.size() == traceparent.size())
        std::copy(traceparent.begin(), traceparent.end(), attempt.traceparent.begin());
    else
        attempt.request.set("traceparent",
                            std::string_view(traceparent.data(), traceparent.size()));
    if (!attempt.trace->tracestate().empty())
        attempt.request.set("tracestate", attempt.trace->tracestate());
}

// `status`: the upstream's (0: none came); `error`: how the attempt failed (empty: it did not).
void end_attempt_span(Forwarder::Try& attempt, unsigned status, std::string_view error) {
    if (attempt.trace == nullptr) return;
    auto& span = attempt.trace->span(attempt.span);
    if (status != 0) span.set("http.response.status_code", static_cast<std::int64_t>(status));
    if (!error.empty()) span.set("error.type", error);
    else if (status >= 500) span.set("error.type", std::to_string(status));
    if (!error.empty() || status >= 500) span.status = tracing::StatusCode::error;
    attempt.trace->end(attempt.span);
}

}  // namespace

namespace {

http::GatewayError no_endpoint_error(BackendState& backend) {
    auto error = http::make_error(http::ErrorCode::no_healthy_endpoint);
    // When the first circuit reopens for a probe; else the table's default.
    if (const auto wait = backend.seconds_until_available(Clock::now()); wait > 0)
        error.retry_after_seconds = wait;
    return error;
}

const char* outcome_name(BackendQueue::Outcome outcome) {
    switch (outcome) {
    case BackendQueue::Outcome::served: return "served";
    case BackendQueue::Outcome::full: return "full";
    case BackendQueue::Outcome::timeout: return "timeout";
    case BackendQueue::Outcome::left: return "left";
    }
    return "";
}

}  // namespace

http::Task<std::optional<BackendState::Choice>> Forwarder::wait_for_choice(
    BackendState& backend, const std::vector<bool>& none, http::HangUp& hang_up,
    const ForwardContext& context, ForwardOutcome& outcome) {
    const auto& config = backend.config();
    auto* queue = backend.queue();
    std::optional<BackendState::Choice> choice;
    const bool full = backend.at_capacity(Clock::now());
    if (queue == nullptr || (!full && !queue->busy())) {
        metrics_.upstream_error(config.name, full ? "overloaded" : "no_endpoint");
        outcome.error = full ? http::make_error(http::ErrorCode::backend_overloaded)
                             : no_endpoint_error(backend);
        co_return choice;
    }
    const FairQueue::Place anonymous;
    const auto& place = context.place != nullptr ? *context.place : anonymous;
    const auto waited = co_await queue->wait(place, hang_up, [&] {
        choice = backend.pick(none, Clock::now(), context.hints);
        return choice.has_value();
    });
    metrics_.queue().waited(config.name, place.priority, outcome_name(waited.outcome),
                            std::chrono::duration<double>(waited.waited).count());
    if (waited.outcome != BackendQueue::Outcome::full) outcome.queue_wait = waited.waited;
    if (waited.outcome == BackendQueue::Outcome::full ||
        waited.outcome == BackendQueue::Outcome::timeout) {
        outcome.error = http::make_error(waited.outcome == BackendQueue::Outcome::full
                                             ? http::ErrorCode::queue_full
                                             : http::ErrorCode::queue_timeout);
        outcome.error->retry_after_seconds = queue->retry_after_seconds();
    }
    co_return choice;
}

http::Task<ForwardOutcome> Forwarder::forward(http::Request& request, BackendState& backend,
                                              http::AnswerRelay& relay, http::HangUp& hang_up,
                                              const ForwardContext& context) {
    const auto& config = backend.config();
    ForwardOutcome outcome;
    // Keep-alive: HTTP/1.1 without Connection (write_head leaves it out).
    request.version(11);
    const auto now = Clock::now();
    Try attempt{request,
                backend,
                relay,
                hang_up,
                AttemptLimits{config.timeouts, now + config.timeouts.total},
                outcome,
                context.hints,
                context.trace,
                context.head_lines,
                context.traceparent};
    auto picked_at = now;  // the clock as last read, with nothing waited for since
    std::vector<bool> tried(backend.size(), false);
    bool holds_budget = false;
    // Nobody passes those already waiting: while anyone does, a free slot goes to the head
    // of the line. The plain path never enters the (coroutine) wait.
    std::optional<BackendState::Choice> choice;
    if (backend.queue() == nullptr || !backend.queue()->busy())
        choice = backend.pick(tried, now, context.hints);
    if (!choice) {
        choice = co_await wait_for_choice(backend, tried, hang_up, context, outcome);
        picked_at = Clock::now();
    }
    for (unsigned retry = 0; choice; ++retry) {
        tried[choice->index] = true;
        if (retry > 0) metrics_.retry(config.name, "attempt");
        auto standing = [&](Clock::time_point at) {
            return RetryStanding{retry + 1, backend.has_candidate(tried, at), holds_budget,
                                 backend.retry_budget_left(), attempt.limits.total_deadline - at};
        };
        attempt.endpoint = &backend.endpoint(choice->index);
        attempt.ticket = &choice->ticket;
        attempt.slot = &choice->slot;
        attempt.hold_back_answer = may_hold_back_answer(config.retries, standing(picked_at));
        const auto result = co_await try_endpoint(attempt);
        choice->slot.release();  // the attempt is over: its slot goes to the next one
        if (result.done) break;
        const auto verdict = decide_retry(config.retries, standing(Clock::now()), result.condition);
        if (verdict == RetryVerdict::budget_exhausted) metrics_.retry(config.name, "budget_exhausted");
        if (verdict != RetryVerdict::retry) break;
        if (!holds_budget && !backend.try_start_retry()) {
            metrics_.retry(config.name, "budget_exhausted");
            break;
        }
        holds_budget = true;
        if (!co_await pause_before_retry(retry, attempt.limits.total_deadline, hang_up)) break;
        picked_at = Clock::now();
        choice = backend.pick(tried, picked_at, context.hints);
        if (!choice && !outcome.error) {
            metrics_.upstream_error(config.name, "no_endpoint");
            outcome.error = no_endpoint_error(backend);
        }
    }
    if (holds_budget) backend.end_retry();
    if (hang_up.happened()) {
        outcome.error.reset();
        outcome.error_kind = "client_closed";
    } else if (outcome.error) {
        outcome.error_kind = outcome.error->code;
    }
    co_return outcome;
}

http::Task<bool> Forwarder::pause_before_retry(unsigned retry, Clock::time_point deadline,
                                               http::HangUp& hang_up) {
    thread_local std::minstd_rand random{std::random_device{}()};
    const auto pause = std::min<Clock::duration>(
        retry_backoff(retry, static_cast<unsigned>(random())), deadline - Clock::now());
    if (pause <= Clock::duration::zero()) co_return false;
    http::Timer backoff(co_await net::this_coro::executor, pause);
    hang_up.slot().assign([&backoff](net::cancellation_type) { backoff.cancel(); });
    co_await backoff.async_wait(net::as_tuple(http::use_awaitable));
    hang_up.slot().clear();
    co_return !hang_up.happened();
}

http::Task<Forwarder::TryResult> Forwarder::try_endpoint(Try& attempt) {
    auto& state = *attempt.endpoint;
    const auto& config = attempt.backend.config();
    TokensInFlight tokens_in_flight(state.tokens_in_flight, attempt.hints);
    attempt.outcome.endpoint = state.endpoint.url;
    ++attempt.outcome.attempts;
    if (attempt.trace) start_attempt_span(attempt);
    AttemptHead head;
    co_await attempt_head(pool_, attempt.request, attempt.head_lines, state.endpoint,
                          attempt.backend.tls(), attempt.limits, attempt.hang_up, head);
    if (!attempt.outcome.sent) attempt.outcome.sent = head.started;
    if (head.resent) {
        ++attempt.outcome.attempts;
        metrics_.retry(config.name, "resent");
    }
    if (head.failure == Failure::client_gone) {
        state.breaker.release(*attempt.ticket);
        end_attempt_span(attempt, 0, "client_closed");
        co_return TryResult{true};
    }
    if (head.failure != Failure::none) {
        end_attempt_span(attempt, 0, metric_kind(head.failure));
        state.breaker.record_failure(*attempt.ticket, Clock::now());
        metrics_.upstream_error(config.name, metric_kind(head.failure));
        attempt.outcome.error = client_error(head.failure);
        co_return TryResult{false, retry_condition(head.failure)};
    }
    // The breaker learns of 5xx answers before the client sees them: the next request
    // already goes elsewhere.
    const auto status = head.parser->status();
    if (status >= 500)
        state.breaker.record_failure(*attempt.ticket, Clock::now());
    else
        state.breaker.record_success(*attempt.ticket);
    if (attempt.hold_back_answer && (status == 502 || status == 503)) {
        const auto kind = status == 502 ? config::RetryOn::status_502 : config::RetryOn::status_503;
        if (config.retries.allows(kind)) {
            end_attempt_span(attempt, status, "");
            attempt.outcome.error = upstream_unavailable(status);
            co_return TryResult{false, kind};
        }
    }
    attempt.outcome.first_byte = head.first_byte;
    // The request is never sent again once its answer is relayed: its head is not held for a
    // stream's minutes (issue 17). Its body stays, for the settle step's prices and ledger.
    attempt.request.clear();
    const auto result = co_await relay_answer(attempt, head);
    end_attempt_span(attempt, status, attempt.outcome.error_kind);
    co_return result;
}

http::Task<Forwarder::TryResult> Forwarder::relay_answer(Try& attempt, AttemptHead& head) {
    auto& parser = *head.parser;
    // The parser kept the end-to-end headers only, as text lines: those of its connection and
    // framing went.
    const bool reusable = parser.keep_alive();
    const bool event_stream = parser.event_stream();
    const bool chunked = !parser.done() && !parser.content_length();
    attempt.outcome.stream = chunked;
    attempt.outcome.error.reset();
    std::optional<std::uint64_t> length;
    if (!chunked) length = parser.content_length().value_or(0);
    // When body bytes came with the head, the head waits for them: one write, one segment.
    const auto timing = parser.done() || head.connection->buffer.size() > 0
                            ? http::AnswerSink::HeadTiming::with_first_piece
                            : http::AnswerSink::HeadTiming::now;
    auto& outcome = attempt.outcome;
    http::AnswerHead answer_head{parser.head(), event_stream, chunked, false, std::move(parser.lines())};
    answer_head.upstream_size = answer_head.lines.size();
    // Taken at once: the head waits for the first piece, or the client's socket takes it.
    const auto head_now = attempt.relay.head_now(std::move(answer_head), length, timing);
    bool head_sent = head_now.value_or(false);
    if (!head_now) head_sent = co_await attempt.relay.flush();
    auto now = Clock::now();
    outcome.relay_time += now - head.head_read;
    if (!head_sent) {
        outcome.error_kind = "client_closed";
        co_return TryResult{true};
    }
    const auto failure = co_await relay_body(head, attempt.relay, attempt.limits, attempt.hang_up,
                                             attempt.slot, outcome.relay_time, now);
    if (failure == Failure::none) {
        if (reusable) pool_.release(std::move(head.connection), attempt.backend.config(), now);
        co_return TryResult{true};
    }
    if (failure == Failure::client_gone) co_return TryResult{true};
    metrics_.upstream_error(attempt.backend.config().name, metric_kind(failure));
    const bool timeout = failure != Failure::reset;
    const std::string kind = timeout ? "upstream_timeout" : "upstream_reset";
    const auto event = event_stream ? error_event(kind, timeout) : std::string();
    if (co_await attempt.relay.cut(event)) {
        // Nothing reached the client yet: it gets a clean error answer, not a cut.
        outcome.error = timeout ? client_error(Failure::idle_timeout) : client_error(Failure::invalid);
        co_return TryResult{false};
    }
    outcome.error_kind = kind;
    co_return TryResult{true};
}

}  // namespace llmgw::upstream
