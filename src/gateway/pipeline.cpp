// The request pipeline: each step in the order of the design, each answering continue or an error.
#include "llmgw/gateway/pipeline.hpp"

#include "llmgw/cache/cache_key.hpp"
#include "llmgw/gateway/model_list.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"
#include "llmgw/limits/reservation_estimate.hpp"
#include "llmgw/observability/request_id.hpp"
#include "llmgw/routing/rewrite.hpp"
#include "llmgw/routing/route_table.hpp"
#include "llmgw/tracing/genai.hpp"
#include "llmgw/upstream/upstream_request.hpp"
#include "llmgw/usage/request_shape.hpp"
#include "request_tracing.hpp"
#include "self_service.hpp"

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
        if (!context_.has_json_body()) return {ModelState::no_json_body, {}};
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

bool has_unit(const config::Tier& tier, config::Limit::Unit unit) {
    return std::any_of(tier.limits.begin(), tier.limits.end(),
                       [unit](const config::Limit& limit) { return limit.unit == unit; });
}

// A tier whose token or cost limits reserve at admission.
bool reserves(const config::Tier& tier) {
    return has_unit(tier, config::Limit::Unit::tokens) || has_unit(tier, config::Limit::Unit::cost);
}

// The price of the model as sent upstream (the route's rewrite, else the body's "model").
const config::Price* price_for(const config::Config& config, const config::Route* route,
                               const nlohmann::json* body) {
    if (config.prices.empty()) return nullptr;
    std::string model;
    if (route != nullptr && route->rewrite.model)
        model = *route->rewrite.model;
    else if (body != nullptr && body->is_object() && body->contains("model") &&
             (*body)["model"].is_string())
        model = (*body)["model"].get<std::string>();
    const auto it = config.prices.find(model);
    return it == config.prices.end() ? nullptr : &it->second;
}

}  // namespace

Pipeline::Pipeline(const PipelineServices& services, upstream::ConnectionPool& pool,
                   limits::Admission& admission, redis::Client* redis,
                   tracing::SpanExporter* traces)
    : services_(services),
      admission_(admission),
      cache_(services.cache, redis),
      forwarder_(pool, services.metrics),
      traces_(traces) {}


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
    if (!result && self_service(context)) {
        co_await serve_self_service(context, body, client, *services_.catalog, admission_);
        record(context, client);
        co_return;
    }
    if (!result) result = co_await read_body(context, body, client);
    // The steps a request's tier or route does not ask for cost no coroutine.
    const auto* tier = result ? nullptr : limiting_tier(context);
    if (tier != nullptr) result = co_await admit(context, *tier, steps);
    if (!result) result = route(context);
    if (!result) {
        transform(context, steps);
        // The gateway's own model list is the consumer's: never looked up in, or kept for, a cache.
        const bool lists_models = answers_model_list(*context.route, context.record.method,
                                                     context.record.path);
        if (!lists_models && context.route->cache) co_await look_up_cache(context, steps);
        const auto phases = steps.phases();
        http::AnswerRelay relay(client, phases, context.record.request_id);
        if (lists_models)
            co_await list_models(context, relay);
        else if (context.cache.hit)
            co_await replay(context, relay);
        else
            result = co_await forward(context, relay, client);
    }
    if (result) co_await answer_error(context, *result, body, client);
    settle(context, steps, client);
    // The answer is out (or the client gone): the consumer's slot is free for its next request.
    // After the settle, so that with Redis the release and the settle leave in one call.
    context.concurrency.release();
    if (caches_answer(context, steps)) co_await store_in_cache(context, steps);
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
    start_trace(context);
}

// The consumer's own calls (/gateway/*), with self_service.enabled and a store.
bool Pipeline::self_service(const RequestContext& context) const {
    return services_.catalog != nullptr && context.snapshot->config().self_service.enabled &&
           is_self_service_path(context.record.path);
}

StepResult Pipeline::authenticate(RequestContext& context) {
    auto& request = context.request;
    auto header = [&](std::string_view name) -> std::optional<std::string_view> {
        const auto it = request.find(name);
        if (it == request.end()) return std::nullopt;
        return std::string_view(it->value());
    };
    const auto& authenticator = context.snapshot->authenticator();
    // Without authentication every request is anonymous: no header to look up. Expiry is
    // checked at the request's arrival (record.time, read microseconds ago): no clock read.
    auto result = authenticator.enabled()
                      ? authenticator.authenticate(header("authorization"), header("x-api-key"),
                                                   context.record.time)
                      : authenticator.authenticate(std::nullopt, std::nullopt, {});
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
    // Usually the body came with the head: then it is had without a read or a coroutine.
    auto now = body.read_now();
    http::BodyRead read;
    if (now)
        read = std::move(*now);
    else
        read = co_await body.read();
    context.record.bytes_in = context.request.body().size();
    if (read.complete) {
        context.own_time.body_read = std::chrono::steady_clock::now();
        co_return std::nullopt;
    }
    client.close_after();
    if (read.refusal) co_return std::move(read.refusal);
    // The client went away in the middle of its body: recorded as 499, nothing sent.
    co_return http::make_error(http::ErrorCode::client_closed);
}

const config::Tier* Pipeline::limiting_tier(const RequestContext& context) const {
    const auto* tier = context.snapshot->tier(context.identity->tier);
    if (tier == nullptr || (tier->limits.empty() && tier->max_concurrent == 0)) return nullptr;
    return tier;
}

http::Task<StepResult> Pipeline::admit(RequestContext& context, const config::Tier& tier,
                                       ResponseSteps& steps) {
    if (!tier.limits.empty()) context.tier = &tier;
    const bool reserving = reserves(tier);
    const auto reserve = reserving ? reservation_for(context, tier) : limits::Charge{};
    const auto started = context.trace ? tracing::now_ns() : 0;
    // In process (or from a leased slice) the decision needs no coroutine of the admission's.
    auto now = admission_.admit_now(context.identity->account, tier, reserve);
    limits::Admission::Outcome outcome;
    if (now)
        outcome = std::move(*now);
    else
        outcome = co_await admission_.admit_with_redis(context.identity->account, tier, reserve);
    if (context.trace) trace_admission(context, started, outcome);
    if (outcome.redis_call)
        context.own_time.waits += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            outcome.redis_call->second - outcome.redis_call->first);
    if (!outcome.decision) {
        // Redis is unavailable and failure_mode is closed: no request without its limits.
        context.record.rate_limit = "unavailable";
        co_return http::make_error(http::ErrorCode::limits_unavailable);
    }
    const auto& decision = *outcome.decision;
    steps.rate_limit_headers.set(limits::header_figures(decision));
    context.record.rate_limit = decision.admitted ? "admitted" : "refused";
    if (decision.admitted) {
        context.concurrency = std::move(outcome.slot);
        if (reserving) {
            context.reservation = outcome.reservation;
            services_.metrics.limits().reserved(tier.name, reserve.tokens);
        }
        co_return std::nullopt;
    }
    if (decision.over_concurrency) {
        services_.metrics.limits().concurrency_refused(tier.name);
        co_return limits::concurrency_limited(decision, tier.name, tier.max_concurrent);
    }
    services_.metrics.rate_limited(tier.name, limits::limit_name(*decision.refused_by));
    co_return limits::rate_limited(decision, tier.name);
}

// What a request reserves: its estimated tokens (model calls only), and their cost at the price
// of the model it will be sent to when the tier has a money budget.
limits::Charge Pipeline::reservation_for(RequestContext& context, const config::Tier& tier) {
    // Admission comes before routing: the client's path tells the endpoint (a rewrite keeps
    // its last segments, which are what the shape is read from).
    const auto path = std::string_view(context.record.path);
    const auto shape = usage::shape_of(path.substr(0, path.find('?')));
    if (!usage::is_model_call(shape)) return {};
    const auto& config = context.snapshot->config();
    const auto default_completion = config.limits.completion_tokens_estimate;
    const bool costs = has_unit(tier, config::Limit::Unit::cost);
    // Read from the text unless the tree is there or needed anyway (for the price's model).
    auto estimate = context.body_parsed() || costs
                        ? std::nullopt
                        : limits::estimate_request_text(context.request.body(), shape,
                                                        default_completion);
    if (!estimate)
        estimate = limits::estimate_request(context.body_json(), context.request.body().size(),
                                            shape, default_completion);
    context.prompt_estimate = estimate->prompt_tokens;
    limits::Charge charge{estimate->total(), 0};
    if (costs) {
        // Admission comes before routing; the route that will match decides the model.
        const auto match = context.snapshot->routes().match(ContextFacts(context));
        if (const auto* price = price_for(config, match.route, context.body_json()))
            charge.cost =
                limits::cost_of(*price, estimate->prompt_tokens, estimate->completion_tokens);
    }
    return charge;
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
    // Setting a target reallocates the request line: only when it changes.
    if (routing::rewrites_target(route))
        request.target(routing::rewrite_target(route, request.target()));
    // A model taken from the path is rewritten there (rewrite_target), never in the body.
    if (route.rewrite.model && route.match.model_from == config::RouteMatch::ModelFrom::body) {
        if (auto* body = context.mutable_body_json(); body != nullptr && body->is_object()) {
            (*body)["model"] = *route.rewrite.model;
            request.body() = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    }
    // What the upstream is asked for decides how its answer's tokens are read.
    const auto target = std::string_view(request.target());
    context.shape = usage::shape_of(target.substr(0, target.find('?')));
    // A streamed completion reports its token usage only when asked to: the gateway asks on
    // the client's behalf (only where the endpoint knows the option), and the usage step
    // hides the extra event again.
    const bool post = request.method() == http::beast::http::verb::post;
    if (post && usage::supports_stream_usage(context.shape) && context.asks_for_stream() &&
        usage::ask_for_stream_usage(*context.mutable_body_json())) {
        steps.usage.hide_usage_only_event();
        request.body() = context.mutable_body_json()->dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    upstream::strip_hop_by_hop(request);
    upstream::apply_header_edits(request, route.headers);
    // The forwarding headers and the framing wait for forward: a cache hit sends no request.
    if (context.trace) {
        const auto upstream_target = std::string_view(request.target());
        // The body's text is read when nothing parsed it: the parse cost more than the rest
        // of the trace.
        auto genai = context.body_parsed()
                         ? std::nullopt
                         : tracing::scan_genai_request(upstream_target, request.body());
        context.trace->genai = genai ? std::move(*genai)
                                     : tracing::genai_request(upstream_target, context.body_json());
        steps.trace.emplace(*context.trace);
    }
}

http::Task<void> Pipeline::look_up_cache(RequestContext& context, ResponseSteps& steps) {
    const auto& route = *context.route;  // with a cache
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
    // The body's text is what transform left (its tree written back): the memo finds the key
    // by it, and a request seen before is not parsed for its key.
    const cache::KeyParts parts{route.name, context.request.method_string(),
                                context.request.target(), account, streamed, nullptr,
                                context.request.body()};
    const auto key = key_memo_.key(parts, [&] { return context.body_json(); });
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
    // The stored headers go out as the text they were written to once (the same bytes a field
    // tree gives), ahead of the lines the relay and the steps add (room made for those).
    std::string lines;
    if (answer.head_lines) {
        lines.reserve(answer.head_lines->size() + 256);
        lines = *answer.head_lines;
    } else {
        for (const auto& [name, value] : answer.headers) fields.insert(name, value);
    }
    context.record.stream = answer.streamed;
    http::AnswerHead head{fields, answer.streamed, answer.streamed, true, std::move(lines)};
    std::optional<std::uint64_t> length;
    if (!answer.streamed) length = answer.body.size();
    // A replayed stream goes out whole: it is a valid event stream, only without the pauses.
    if (!co_await relay.send_head(std::move(head), length,
                                   http::AnswerSink::HeadTiming::with_first_piece))
        co_return;
    if (!answer.body.empty() && !co_await relay.send_body(answer.body)) co_return;
    co_await relay.finish();
}

http::Task<void> Pipeline::list_models(RequestContext& context, http::AnswerRelay& relay) {
    const auto body = model_list_body(*context.snapshot, *context.identity);
    http::ResponseHead fields;
    fields.result(http::beast::http::status::ok);
    fields.set(http::beast::http::field::content_type, "application/json");
    http::AnswerHead head{fields, false, false, false};
    if (!co_await relay.send_head(head, body.size(), http::AnswerSink::HeadTiming::with_first_piece))
        co_return;
    if (!co_await relay.send_body(body)) co_return;
    co_await relay.finish();
}

bool Pipeline::caches_answer(const RequestContext& context, const ResponseSteps& steps) {
    return !context.cache.key.empty() && steps.copy;
}

http::Task<void> Pipeline::store_in_cache(RequestContext& context, ResponseSteps& steps) {
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

// The tokens an answer cost: none for a cache hit or an error answer; else the usage it
// reported, or an estimate for a model call (a stream cut before its usage is charged the
// events it relayed).
std::optional<usage::TokenUsage> Pipeline::answer_usage(RequestContext& context,
                                                        const ResponseSteps& steps,
                                                        const http::ClientWriter& client) {
    const auto& scanner = steps.usage.scanner();
    if (context.cache.hit || !scanner || client.status() < 200 || client.status() >= 300)
        return std::nullopt;
    if (const auto reported = scanner->usage()) return reported;
    // Without a reported usage, a model call is estimated as its endpoint's shape says (a stream
    // cut before its usage is charged the content events it relayed); other answers (a model
    // list, a tokenizer call) cost no tokens.
    auto guess =
        usage::estimate_usage(context.shape, context.record.bytes_in, scanner->body_bytes());
    if (guess.estimated && scanner->content_events() > 0)
        guess.completion_tokens = scanner->content_events();
    return guess;
}

void Pipeline::settle(RequestContext& context, const ResponseSteps& steps,
                      const http::ClientWriter& client) {
    if (!context.identity) return;  // refused before authentication: nothing was admitted
    const auto usage = answer_usage(context, steps, client);
    const auto& identity = *context.identity;
    const auto& config = context.snapshot->config();
    // Without prices the body is not parsed for them (price_for would not look).
    const auto* price = usage && !config.prices.empty()
                            ? price_for(config, context.route, context.body_json())
                            : nullptr;
    const auto cost =
        price ? limits::cost_of(*price, usage->prompt_tokens, usage->completion_tokens) : 0;
    if (context.tier != nullptr) {
        // Every admitted request of a metered tier settles, errors and cut streams included:
        // what was not used goes back.
        const limits::Charge actual{usage ? usage->total() : 0, cost};
        const auto reservation = context.reservation.value_or(limits::Reservation{});
        admission_.settle(identity.account, *context.tier, reservation, actual);
        if (context.reservation)
            services_.metrics.limits().settled(context.tier->name, reservation.reserved.tokens,
                                               actual.tokens);
    }
    if (!usage) {
        // A hit counted against request rates and quotas when admitted; it costs no model
        // tokens, and usage counts it as cached.
        if (context.cache.hit && client.status() == 200) {
            admission_.record_usage(identity.account, {0, 0, false, true, 0});
            const auto& hit = *context.cache.hit;
            add_to_ledger(context, {}, hit.prompt_tokens + hit.completion_tokens, std::nullopt);
        }
        return;
    }
    auto& record = context.record;
    record.prompt_tokens = usage->prompt_tokens;
    record.completion_tokens = usage->completion_tokens;
    record.tokens_estimated = usage->estimated;
    admission_.record_usage(identity.account, {usage->prompt_tokens, usage->completion_tokens,
                                               usage->estimated, false, cost});
    add_to_ledger(context, *usage, std::nullopt,
                  config.prices.empty() ? std::nullopt : std::optional<std::uint64_t>(cost));
    // Labels stay bounded: JWT subjects and the store's consumers are not configured, so
    // each kind shares one label.
    const std::string label = identity.from_jwt()     ? "jwt"
                              : identity.from_store() ? "store"
                                                      : identity.consumer;
    services_.metrics.tokens(label, usage->prompt_tokens, usage->completion_tokens);
    services_.metrics.limits().cost(label, cost);
}

// The store's usage ledger (account × UTC day × model as sent upstream), when configured.
// `cached_tokens` is set for an answer replayed from the cache: the tokens it saved.
void Pipeline::add_to_ledger(RequestContext& context, const usage::TokenUsage& usage,
                             std::optional<std::uint64_t> cached_tokens,
                             std::optional<std::uint64_t> cost_nano) {
    if (services_.catalog == nullptr) return;
    store::LedgerRow row;
    row.day = limits::UsageLedger::day_of(std::chrono::system_clock::now());
    row.account = context.identity->account;
    if (const auto* body = context.body_json(); body != nullptr && body->is_object()) {
        const auto model = body->find("model");
        if (model != body->end() && model->is_string()) row.model = model->get<std::string>();
    }
    row.requests = 1;
    row.prompt_tokens = usage.prompt_tokens;
    row.completion_tokens = usage.completion_tokens;
    row.estimated_requests = usage.estimated ? 1 : 0;
    row.cached_requests = cached_tokens ? 1 : 0;
    row.cached_tokens = cached_tokens.value_or(0);
    if (cost_nano) row.cost = static_cast<double>(*cost_nano) / 1e9;  // in the unit of `prices`
    const auto* key = context.identity->stored_key;
    services_.catalog->usage().add(row, key != nullptr ? std::string_view(key->id) : std::string_view());
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
    const auto now = std::chrono::steady_clock::now();
    record.duration = now - context.started;
    if (const auto& own = context.own_time; own.body_read) {
        const auto before_upstream = own.upstream_sent.value_or(now) - *own.body_read;
        const auto waited = own.waits + record.queue_wait.value_or(std::chrono::steady_clock::duration{});
        const auto zero = std::chrono::steady_clock::duration{};
        const auto gateway_time = std::max(before_upstream - waited, zero) + own.relay;
        record.overhead = std::max(gateway_time - client.client_waits(), zero);
    }
    services_.metrics.request_finished(record);
    if (context.trace) finish_trace(context, traces_);
    services_.access_log.write(record);
}

}  // namespace llmgw::gateway
