// The fixed order every request goes through (see docs/architecture in the design):
// authenticate → admit → route → transform → cache → forward → settle → record.
#pragma once

#include <optional>

#include "llmgw/cache/key_memo.hpp"
#include "llmgw/cache/response_cache.hpp"
#include "llmgw/gateway/pipeline_services.hpp"
#include "llmgw/gateway/request_context.hpp"
#include "llmgw/gateway/response_steps.hpp"
#include "llmgw/http/answer_relay.hpp"
#include "llmgw/http/client_session.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/http/answer_sink.hpp"
#include "llmgw/limits/admission.hpp"
#include "llmgw/tracing/span_exporter.hpp"
#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/forwarder.hpp"

namespace llmgw::gateway {

// What a step answers: nothing to continue with the next step, or the error
// that finishes the request.
using StepResult = std::optional<http::GatewayError>;

// One per worker thread.
class Pipeline {
public:
    // `redis`: the worker's Redis connection (the cache's Redis store uses it), or null.
    // `traces`: the worker's span exporter (null: sampled requests' spans are not sent).
    Pipeline(const PipelineServices& services, upstream::ConnectionPool& pool,
             limits::Admission& admission, redis::Client* redis,
             tracing::SpanExporter* traces = nullptr);

    // Called with the request's head; the body is read after authentication.
    http::Task<void> handle(RequestContext& context, http::RequestBody& body,
                            http::ClientWriter& client);
    // Records a request the session refused before it was read whole.
    void record_refusal(const http::RefusedRequest& refused);

private:
    void identify(RequestContext& context);
    StepResult authenticate(RequestContext& context);
    http::Task<StepResult> read_body(RequestContext& context, http::RequestBody& body,
                                     http::ClientWriter& client);
    // The tier's limits and concurrency cap, when it has any (else there is nothing to admit).
    const config::Tier* limiting_tier(const RequestContext& context) const;
    http::Task<StepResult> admit(RequestContext& context, const config::Tier& tier,
                                 ResponseSteps& steps);
    limits::Charge reservation_for(RequestContext& context, const config::Tier& tier);
    StepResult route(RequestContext& context);
    void transform(RequestContext& context, ResponseSteps& steps);
    http::Task<void> look_up_cache(RequestContext& context, ResponseSteps& steps);
    http::Task<void> replay(RequestContext& context, http::AnswerRelay& relay);
    // The gateway's own GET .../models answer (a route with `models: gateway`).
    http::Task<void> list_models(RequestContext& context, http::AnswerRelay& relay);
    http::Task<StepResult> forward(RequestContext& context, http::AnswerRelay& relay,
                                   http::ClientWriter& client);
    // What one backend's forward needs besides the request: its hints and place in line for
    // that backend (kept in `hints` and `place`), the forwarding lines, the trace.
    upstream::ForwardContext forward_context(RequestContext& context,
                                             upstream::BackendState& backend,
                                             std::optional<upstream::RoutingHints>& hints,
                                             std::optional<upstream::FairQueue::Place>& place);
    http::Task<void> answer_error(RequestContext& context, const http::GatewayError& error,
                                  const http::RequestBody& body, http::ClientWriter& client);
    std::optional<usage::TokenUsage> answer_usage(RequestContext& context,
                                                  const ResponseSteps& steps,
                                                  const http::ClientWriter& client);
    void settle(RequestContext& context, const ResponseSteps& steps,
                const http::ClientWriter& client);
    bool self_service(const RequestContext& context) const;
    // `cost_nano`: the answer's cost in nano-units of `prices`, when prices are configured.
    void add_to_ledger(RequestContext& context, const usage::TokenUsage& usage,
                       std::optional<std::uint64_t> cached_tokens,
                       std::optional<std::uint64_t> cost_nano);
    // Whether the answer goes into the cache (a miss's key was taken, a copy was made).
    static bool caches_answer(const RequestContext& context, const ResponseSteps& steps);
    http::Task<void> store_in_cache(RequestContext& context, ResponseSteps& steps);
    void record(RequestContext& context, const http::ClientWriter& client);

    PipelineServices services_;
    limits::Admission& admission_;
    cache::ResponseCache cache_;
    cache::KeyMemo key_memo_;  // this worker's: the keys of requests it saw lately
    upstream::Forwarder forwarder_;
    tracing::SpanExporter* traces_;
};

}  // namespace llmgw::gateway
