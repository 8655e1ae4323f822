// Step 7 of the pipeline as the request sees it: the route's backend, then its fallbacks in
// order while a backend cannot take the request (no healthy endpoint, at capacity, its queue
// full or timed out) and nothing has reached the client yet.
#include <algorithm>

#include "llmgw/gateway/pipeline.hpp"
#include "llmgw/limits/reservation_estimate.hpp"
#include "llmgw/upstream/routing_hints.hpp"
#include "llmgw/upstream/upstream_request.hpp"
#include "request_tracing.hpp"

namespace llmgw::gateway {

namespace {

// What the endpoint choice reads from the request (engine_aware and affinity backends).
upstream::RoutingHints routing_hints_of(RequestContext& context, const config::Backend& backend) {
    std::string_view header;
    if (backend.affinity && backend.affinity->by == config::AffinityConfig::By::header)
        header = context.request[backend.affinity->header];
    const std::string_view consumer =
        context.identity ? std::string_view(context.identity->account) : std::string_view();
    return upstream::routing_hints(backend, context.body_json(), context.request.body().size(),
                                   header, consumer);
}

// The request's place in a backend's queue: its consumer, its tier's priority and weight, and
// its cost in estimated tokens (what admission reserved, else the same estimate).
upstream::FairQueue::Place queue_place(RequestContext& context) {
    upstream::FairQueue::Place place;
    if (context.identity) {
        place.consumer = context.identity->account;
        if (const auto* tier = context.snapshot->tier(context.identity->tier)) {
            place.priority = tier->priority;
            place.weight = tier->weight;
        }
    }
    if (context.reservation) {
        place.cost = context.reservation->reserved.tokens;
    } else if (usage::is_model_call(context.shape)) {
        const auto& limits = context.snapshot->config().limits;
        place.cost = limits::estimate_request(context.body_json(), context.request.body().size(),
                                              context.shape, limits.completion_tokens_estimate)
                         .total();
    }
    place.cost = std::max<std::uint64_t>(place.cost, 1);
    return place;
}

// The errors a fallback may answer instead: the backend could not take the request at all.
bool falls_back(const http::GatewayError& error) {
    using E = http::ErrorCode;
    for (const auto code : {E::no_healthy_endpoint, E::backend_overloaded, E::queue_timeout,
                            E::queue_full})
        if (error.code == http::kind_of(code).name) return true;
    return false;
}

std::size_t backend_index(const config::Config& config, const std::string& name) {
    const auto found = std::find_if(config.backends.begin(), config.backends.end(),
                                    [&](const config::Backend& b) { return b.name == name; });
    return static_cast<std::size_t>(found - config.backends.begin());
}

// The body names the model the fallback serves (a JSON body with a "model" only).
void rewrite_model(RequestContext& context, const std::string& model) {
    auto* body = context.mutable_body_json();
    if (body == nullptr || !body->is_object() || !body->contains("model")) return;
    (*body)["model"] = model;
    context.request.body() = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    context.request.prepare_payload();
}

// Whether a step after the forward starts reads the parsed body: the endpoint choice of an
// engine-aware or affinity backend and a queue's cost (each attempt), prices and the ledger
// (when the request settles). A fallback's model rewrite parses the text again if it must.
bool reads_body_json_later(const RequestContext& context, upstream::BackendState& backend,
                           bool ledger) {
    return ledger || !context.snapshot->config().prices.empty() ||
           upstream::needs_hints(backend.config()) || backend.queue() != nullptr;
}

}  // namespace

upstream::ForwardContext Pipeline::forward_context(RequestContext& context,
                                                   upstream::BackendState& backend,
                                                   std::optional<upstream::RoutingHints>& hints,
                                                   std::optional<upstream::FairQueue::Place>& place) {
    // Engine-aware and affinity backends read the request once more; a plain one never does.
    hints.reset();
    if (upstream::needs_hints(backend.config())) hints = routing_hints_of(context, backend.config());
    place.reset();
    if (backend.queue() != nullptr) place = queue_place(context);
    return {hints ? &*hints : nullptr, context.trace.get(), place ? &*place : nullptr,
            context.upstream_lines, traceparent_slot(context)};
}

http::Task<StepResult> Pipeline::forward(RequestContext& context, http::AnswerRelay& relay,
                                         http::ClientWriter& client) {
    const auto& config = context.snapshot->config();
    const auto& primary = config.backends[context.route->backend];
    auto* backend = &context.snapshot->backend(context.route->backend);
    auto& record = context.record;
    upstream::ForwardOutcome outcome;
    // What only a request sent upstream needs, after transform (nothing changed it since).
    context.upstream_lines = upstream::forwarding_lines(context.request, context.forwarded_for,
                                                        context.record.request_id);
    if (context.trace) add_traceparent_line(context);  // each attempt writes its own into it
    upstream::prepare_length(context.request);
    // The tree is not held for the answer's whole relay (a stream's, minutes) when nothing
    // reads it again (issue 17).
    if (!reads_body_json_later(context, *backend, services_.catalog != nullptr))
        context.forget_body_json();
    // Held here, where the forward runs: a backend's hints and place in line.
    std::optional<upstream::RoutingHints> hints;
    std::optional<upstream::FairQueue::Place> place;
    for (std::size_t next = 0;; ++next) {
        const auto extra = forward_context(context, *backend, hints, place);
        outcome = co_await forwarder_.forward(context.request, *backend, relay, client.hang_up(),
                                              extra);
        if (!context.own_time.upstream_sent) context.own_time.upstream_sent = outcome.sent;
        context.own_time.relay += outcome.relay_time;
        if (outcome.queue_wait)
            record.queue_wait = record.queue_wait.value_or(std::chrono::steady_clock::duration{}) +
                                *outcome.queue_wait;
        if (!outcome.error || !falls_back(*outcome.error) || next >= primary.fallbacks.size())
            break;
        const auto& fallback = primary.fallbacks[next];
        services_.metrics.queue().fallback(primary.name, fallback.backend, outcome.error->code);
        const auto index = backend_index(config, fallback.backend);
        backend = &context.snapshot->backend(index);
        if (fallback.model) rewrite_model(context, *fallback.model);
        record.fallback_from = primary.name;
        record.backend = fallback.backend;
    }
    record.endpoint = std::move(outcome.endpoint);
    record.upstream_first_byte = outcome.first_byte;
    record.stream = outcome.stream;
    record.attempts += outcome.attempts;
    if (!outcome.error_kind.empty()) record.error = outcome.error_kind;
    if (outcome.error_kind == "client_closed") client.abort();  // nobody reads it any more
    co_return std::move(outcome.error);
}

}  // namespace llmgw::gateway
