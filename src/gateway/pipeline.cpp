// The request pipeline: each step in the order of the design, each answering continue or an error.
#include "llmgw/gateway/pipeline.hpp"

#include "llmgw/cache/cache_key.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"
#include "llmgw/observability/request_id.hpp"
#include "llmgw/routing/rewrite.hpp"
#include "llmgw/routing/route_table.hpp"
#include "llmgw/upstream/routing_hints.hpp"
#include "llmgw/upstream/upstream_request.hpp"

namespace llmgw::gateway {

namespace {

// nginx's status for a request whose client left before it got an answer.
const int kClientClosed = http::kind_of(http::ErrorCode::client_closed).status;

// What routing may ask about the request, answered from the context.
class ContextFacts final : public routing::RequestFacts {
public:
    explicit ContextFacts(RequestContext& context) : context_(context) {}

    std::string_view path() const override { return context_.record.path; }

    std::optional<std::string_view> header(std::string_view lower_name) const override {
        const auto it = context_.request.find(lower_name);
        if (it == context_.request.end()) return std::nullopt;
        return std::string_view(it->value());
    }

    Model model() const override {
        const auto* body = context_.body_json();
        if (body == nullptr) return {ModelState::body_not_json, {}};
        if (!body->is_object()) return {ModelState::absent, {}};
        const auto it = body->find("model");
        if (it == body->end() || !it->is_string()) return {ModelState::absent, {}};
        return {ModelState::present, it->get_ref<const std::string&>()};
    }

private:
    RequestContext& context_;
};

}  // namespace

Pipeline::Pipeline(const PipelineServices& services, upstream::ConnectionPool& pool,
                   limits::Admission& admission, redis::Client* redis)
    : services_(services),
      admission_(admission),
      cache_(services.cache, redis),
      forwarder_(pool, services.metrics) {}


http::Task<void> Pipeline::handle(RequestContext& context, http::RequestBody& body,
                                  http::ClientWriter& client) {
    Drain::Hold in_flight(services_.drain);
    // The rules this request lives by to its end, whatever reloads happen meanwhile.
    context.snapshot = services_.snapshots.snapshot();
    services_.metrics.request_started();
    if (services_.drain.draining()) client.close_after();
    ResponseSteps steps;
    identify(context);
    StepResult result = authenticate(context);
    if (!result) result = co_await read_body(context, body, client);
    if (!result) result = co_await admit(context, steps);
    if (!result) result = route(context);
    if (!result) {
        transform(context, steps);
        co_await look_up_cache(context, steps);
        const auto phases = steps.phases();
        http::AnswerRelay relay(client, phases, context.record.request_id);
        if (context.cache.hit)
            co_await replay(context, relay);
        else
            result = co_await forward(context, relay, client);
    }
    if (result) co_await answer_error(context, *result, body, client);
    settle(context, steps, client);
    co_await store_in_cache(context, steps);
    record(context, client);
}

http::Task<void> Pipeline::answer_error(RequestContext& context, const http::GatewayError& error,
                                        const http::RequestBody& body,
                                        http::ClientWriter& client) {
    context.record.error = error.code;
    // A body left unread cannot be told from the next request on the connection.
    if (body.unread()) client.close_after();
    if (error.status != kClientClosed) co_await client.send_error(error, context.record.request_id);
}
namespace {
// Forwarded and X-Real-IP say who the client is, as x-forwarded-for does, and follow its rule:
// kept from a trusted proxy, dropped from anyone else (a client would name any address it
// likes). Dropped rather than rewritten: x-forwarded-for already carries the gateway's own
// account, and a second copy in another syntax could only disagree with it.
void drop_untrusted_client_claims(http::Request& request, std::string_view peer,
                                  const http::TrustedProxies& proxies) {
    const bool claims = request.find(http::beast::http::field::forwarded) != request.end() ||
                        request.find("x-real-ip") != request.end();
    if (!claims || proxies.contains(peer)) return;
    request.erase(http::beast::http::field::forwarded);
    request.erase("x-real-ip");
}
}  // namespace

void Pipeline::identify(RequestContext& context) {
    const auto it = context.request.find("x-request-id");
    if (it != context.request.end() && observability::is_sane_request_id(it->value()))
        context.record.request_id = std::string(it->value());
    else
        context.record.request_id = observability::generate_request_id();
    // Only a trusted proxy's word on the client counts; the peer is always the last hop.
    const auto peer = context.record.client;
    const auto claimed = std::string_view(context.request["x-forwarded-for"]);
    const auto& proxies = context.snapshot->trusted_proxies();
    context.forwarded_for = proxies.forwarded_for(peer, claimed);
    context.record.client = proxies.client_address(peer, claimed);
    drop_untrusted_client_claims(context.request, peer, proxies);
}

StepResult Pipeline::authenticate(RequestContext& context) {
    auto& request = context.request;
    auto header = [&](std::string_view name) -> std::optional<std::string_view> {
        const auto it = request.find(name);
        if (it == request.end()) return std::nullopt;
        return std::string_view(it->value());
    };
    const auto& authenticator = context.snapshot->authenticator();
    auto result = authenticator.authenticate(header("authorization"), header("x-api-key"),
                                             std::chrono::system_clock::now());
    if (authenticator.enabled()) {
        // The client's credentials are for the gateway, never for the upstream; a route
        // that needs upstream credentials sets them with headers.set.
        request.erase(http::beast::http::field::authorization);
        request.erase("x-api-key");
    }
    if (result.error) {
        services_.metrics.auth_failure(result.failure_reason);
        return result.error;
    }
    context.identity = std::move(result.identity);
    context.record.consumer = context.identity->consumer;
    context.record.issuer = context.identity->issuer;
    context.record.tier = context.identity->tier;
    return std::nullopt;
}

// The body is read only once the credentials on the head were found good: without them a
// request never makes the gateway hold its body (see server.max_body_memory for the rest).
http::Task<StepResult> Pipeline::read_body(RequestContext& context, http::RequestBody& body,
                                           http::ClientWriter& client) {
    auto read = co_await body.read();
    context.record.bytes_in = context.request.body().size();
    if (read.complete) co_return std::nullopt;
    client.close_after();
    if (read.refusal) co_return std::move(read.refusal);
    // The client went away in the middle of its body: recorded as 499, nothing sent.
    co_return http::make_error(http::ErrorCode::client_closed);
}

http::Task<StepResult> Pipeline::admit(RequestContext& context, ResponseSteps& steps) {
    const auto* tier = context.snapshot->tier(context.identity->tier);
    if (tier == nullptr || tier->limits.empty()) co_return std::nullopt;
    context.tier = tier;
    const auto outcome = co_await admission_.admit(context.identity->account, *tier);
    if (!outcome.decision) {
        // Redis is unavailable and failure_mode is closed: no request without its limits.
        context.record.rate_limit = "unavailable";
        co_return http::make_error(http::ErrorCode::limits_unavailable);
    }
    const auto& decision = *outcome.decision;
    steps.rate_limit_headers.set(limits::rate_limit_headers(decision));
    context.record.rate_limit = decision.admitted ? "admitted" : "refused";
    if (decision.admitted) co_return std::nullopt;
    services_.metrics.rate_limited(tier->name, limits::limit_name(*decision.refused_by));
    co_return limits::rate_limited(decision, tier->name);
}

StepResult Pipeline::route(RequestContext& context) {
    const auto decision = context.snapshot->routes().match(ContextFacts(context));
    using Outcome = routing::RouteDecision::Outcome;
    if (decision.outcome == Outcome::body_not_json)
        return http::make_error(http::ErrorCode::invalid_json);
    if (decision.outcome == Outcome::no_match)
        return http::route_not_found(context.record.method, context.record.path);
    context.route = decision.route;
    context.record.route = context.route->name;
    context.record.backend = context.snapshot->config().backends[context.route->backend].name;
    return auth::authorize(*context.identity, *context.route);
}

void Pipeline::transform(RequestContext& context, ResponseSteps& steps) {
    auto& request = context.request;
    const auto& route = *context.route;
    request.target(routing::rewrite_target(route, request.target()));
    if (route.rewrite.model) {
        if (auto* body = context.mutable_body_json(); body != nullptr && body->is_object()) {
            (*body)["model"] = *route.rewrite.model;
            request.body() = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    }
    // A streamed completion reports its token usage only when asked to: the gateway asks on
    // the client's behalf, and the usage step hides the extra event again.
    const bool post = request.method() == http::beast::http::verb::post;
    if (post && std::string_view(context.record.path).ends_with("completions") &&
        context.asks_for_stream() && usage::ask_for_stream_usage(*context.mutable_body_json())) {
        steps.usage.hide_usage_only_event();
        request.body() = context.mutable_body_json()->dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    upstream::strip_hop_by_hop(request);
    upstream::apply_header_edits(request, route.headers);
    upstream::set_forwarding_headers(request, context.forwarded_for, context.record.request_id);
    request.prepare_payload();
}

http::Task<void> Pipeline::look_up_cache(RequestContext& context, ResponseSteps& steps) {
    const auto& route = *context.route;
    if (!route.cache) co_return;
    auto& record = context.record;
    auto& metrics = cache_.metrics();
    const auto bypass = cache::bypass(context.request.method_string(),
                                      context.request[http::beast::http::field::cache_control]);
    if (bypass && !bypass->store_answer) {
        record.cache = "bypass";
        metrics.lookup(route.name, cache::Lookup::bypass);
        steps.cache_status.set("BYPASS");
        co_return;
    }
    const bool streamed = context.asks_for_stream();
    const auto account = route.cache->scope == config::RouteCache::Scope::consumer
                             ? context.identity->account
                             : std::string();
    const auto key = cache::cache_key({route.name, context.request.method_string(),
                                       context.request.target(), account, streamed,
                                       context.body_json(), context.request.body()});
    steps.copy.emplace(cache_.config().max_entry_bytes);
    context.cache.key = key;
    if (bypass) {  // no-cache: ask afresh, keep the new answer
        record.cache = "bypass";
        metrics.lookup(route.name, cache::Lookup::bypass);
        steps.cache_status.set("BYPASS");
        co_return;
    }
    auto found = co_await cache_.find(key);
    if (found.coalesced) metrics.coalesced(route.name);
    if (found.answer && found.answer->streamed == streamed) {
        steps.cache_status.set("HIT", found.answer->age_seconds(cache::Clock::now()));
        context.cache.hit = std::move(found.answer);
        context.cache.key.clear();
        steps.copy.reset();
        record.cache = "hit";
        metrics.lookup(route.name, cache::Lookup::hit);
        co_return;
    }
    context.cache.lead = std::move(found.lead);
    record.cache = "miss";
    metrics.lookup(route.name, cache::Lookup::miss);
    steps.cache_status.set("MISS");
}

http::Task<void> Pipeline::replay(RequestContext& context, http::AnswerRelay& relay) {
    const auto& answer = *context.cache.hit;
    http::ResponseHead fields;
    fields.result(static_cast<unsigned>(answer.status));
    for (const auto& [name, value] : answer.headers) fields.insert(name, value);
    context.record.stream = answer.streamed;
    http::AnswerHead head{fields, answer.streamed, answer.streamed, true};
    std::optional<std::uint64_t> length;
    if (!answer.streamed) length = answer.body.size();
    // A replayed stream goes out whole: it is a valid event stream, only without the pauses.
    if (!co_await relay.send_head(head, length, http::AnswerSink::HeadTiming::with_first_piece))
        co_return;
    if (!answer.body.empty() && !co_await relay.send_body(answer.body)) co_return;
    co_await relay.finish();
}

http::Task<void> Pipeline::store_in_cache(RequestContext& context, ResponseSteps& steps) {
    if (context.cache.key.empty() || !steps.copy) co_return;
    auto answer = steps.copy->take_answer();
    if (!answer) co_return;
    answer->route = context.route->name;
    answer->stored_at = cache::Clock::now();
    answer->expires_at = answer->stored_at + context.route->cache->ttl;
    answer->prompt_tokens = context.record.prompt_tokens.value_or(0);
    answer->completion_tokens = context.record.completion_tokens.value_or(0);
    co_await cache_.store(context.cache.key, std::move(answer));
    // Waiting followers look again now; they find the answer, or go upstream themselves.
    context.cache.lead.land();
}

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

}  // namespace

http::Task<StepResult> Pipeline::forward(RequestContext& context, http::AnswerRelay& relay,
                                         http::ClientWriter& client) {
    auto& backend = context.snapshot->backend(context.route->backend);
    // Engine-aware and affinity backends read the request once more; a plain one never does.
    std::optional<upstream::RoutingHints> hints;
    if (upstream::needs_hints(backend.config())) hints = routing_hints_of(context, backend.config());
    const upstream::RoutingHints* given = hints ? &*hints : nullptr;
    auto outcome =
        co_await forwarder_.forward(context.request, backend, relay, client.hang_up(), given);
    auto& record = context.record;
    record.endpoint = std::move(outcome.endpoint);
    record.upstream_first_byte = outcome.first_byte;
    record.stream = outcome.stream;
    record.attempts = outcome.attempts;
    if (!outcome.error_kind.empty()) record.error = outcome.error_kind;
    if (outcome.error_kind == "client_closed") client.abort();  // nobody reads it any more
    co_return std::move(outcome.error);
}

void Pipeline::settle(RequestContext& context, const ResponseSteps& steps,
                      const http::ClientWriter& client) {
    if (context.cache.hit) {
        // A hit counted against request rates and quotas when admitted; it costs no model
        // tokens, so token limits are not debited, and usage counts it as cached.
        if (client.status() == 200)
            admission_.record_usage(context.identity->account, 0, 0, false, true);
        return;
    }
    // Only answers the model produced cost tokens: a relayed 2xx.
    const auto& scanner = steps.usage.scanner();
    if (!scanner || client.status() < 200 || client.status() >= 300) return;
    // Without a reported usage, only model calls (completions, embeddings) are estimated;
    // other answers (a model list, say) cost no tokens.
    const auto path = std::string_view(context.record.path);
    const bool model_call = path.ends_with("completions") || path.ends_with("embeddings");
    const auto usage = scanner->usage().value_or(
        model_call ? usage::UsageScanner::estimate(context.record.bytes_in, scanner->body_bytes())
                   : usage::TokenUsage{});
    auto& record = context.record;
    record.prompt_tokens = usage.prompt_tokens;
    record.completion_tokens = usage.completion_tokens;
    record.tokens_estimated = usage.estimated;
    const auto& identity = *context.identity;
    if (context.tier != nullptr) admission_.settle(identity.account, *context.tier, usage.total());
    admission_.record_usage(identity.account, usage.prompt_tokens, usage.completion_tokens,
                            usage.estimated, false);
    // Labels stay bounded: JWT subjects are not configured, so they share one label.
    const std::string label = identity.from_jwt() ? "jwt" : identity.consumer;
    services_.metrics.tokens(label, usage.prompt_tokens, usage.completion_tokens);
}

void Pipeline::record_refusal(const http::RefusedRequest& refused) {
    observability::AccessRecord record;
    record.time = std::chrono::system_clock::now() -
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      std::chrono::steady_clock::now() - refused.started);
    record.request_id = refused.request_id;
    record.client = refused.client_ip;
    record.method = std::string(refused.method);
    record.path = std::string(refused.target.substr(0, refused.target.find('?')));
    record.status = refused.error.status;
    record.error = refused.error.code;
    record.bytes_out = refused.bytes_out;
    record.duration = std::chrono::steady_clock::now() - refused.started;
    services_.metrics.request_refused(record);
    services_.access_log.write(record);
}

void Pipeline::record(RequestContext& context, const http::ClientWriter& client) {
    auto& record = context.record;
    // 499 (nginx's convention): the client closed the connection before it got an answer.
    record.status = client.status() == 0 && record.error == "client_closed" ? 499 : client.status();
    record.bytes_out = client.body_bytes();
    record.duration = std::chrono::steady_clock::now() - context.started;
    services_.metrics.request_finished(record);
    services_.access_log.write(record);
}

}  // namespace llmgw::gateway
