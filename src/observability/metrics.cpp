// llmgw's core request metrics on a prometheus-cpp registry.
#include "llmgw/observability/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>
#include <unordered_map>

#include "handle_cache.hpp"
#include "sharded_histogram.hpp"

namespace llmgw::observability {

namespace {
const std::vector<double>& latency_buckets() {
    // LLM requests range from milliseconds (cache hits, errors) to minutes (long generations).
    static const std::vector<double> buckets = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1,     2.5,    5,     10,   30,    60,   120, 300,  600};
    return buckets;
}

// The gateway's own time per request: microseconds, not the seconds of a generation.
const std::vector<double>& overhead_buckets() {
    static const std::vector<double> buckets = {
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1};
    return buckets;
}

std::string status_label(int status) {
    // Statuses outside 100..599 never reach here (an upstream sending one gets a 502),
    // so this label has at most 500 values.
    return std::to_string(status);
}

// The workers' Redis calls (limits).
struct RedisFamilies {
    prometheus::Family<prometheus::Histogram>& latency;
    prometheus::Family<prometheus::Counter>& errors;
    prometheus::Family<prometheus::Counter>& fail_open;
    prometheus::Family<prometheus::Counter>& tls_failures;
};

RedisFamilies redis_families(prometheus::Registry& registry) {
    return RedisFamilies{
        prometheus::BuildHistogram()
            .Name("llmgw_redis_call_duration_seconds")
            .Help("Latency of Redis calls (limits), successful or not")
            .Register(registry),
        prometheus::BuildCounter()
            .Name("llmgw_redis_errors_total")
            .Help("Redis calls that failed (timeout, not connected, error reply)")
            .Register(registry),
        prometheus::BuildCounter()
            .Name("llmgw_redis_fail_open_total")
            .Help("Requests admitted by the in-process limiter because Redis was unavailable")
            .Register(registry),
        prometheus::BuildCounter()
            .Name("llmgw_redis_tls_failures_total")
            .Help("TLS handshakes with Redis (or a sentinel) that failed, a refused certificate "
                  "most often")
            .Register(registry)};
}

}  // namespace

struct Metrics::Families {
    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Family<prometheus::Counter>& upstream_errors;
    prometheus::Family<prometheus::Counter>& auth_failures;
    prometheus::Family<prometheus::Counter>& retries;
    prometheus::Family<prometheus::Counter>& upstream_connections_closed;
    prometheus::Family<prometheus::Counter>& tokens;
    prometheus::Family<prometheus::Counter>& rate_limited;
    RedisFamilies redis;
    prometheus::Family<prometheus::Counter>& connections_refused;
    prometheus::Family<prometheus::Gauge>& endpoint_healthy;
    prometheus::Family<prometheus::Gauge>& circuit_state;
    prometheus::Family<prometheus::Gauge>& endpoint_in_flight;
    prometheus::Gauge& in_flight;
    std::uint64_t owner = next_metrics_owner();  // keys the per-thread handle caches
    // The histograms observed for every request: sharded per thread (sharded_histogram.hpp).
    ShardedHistogramFamily duration{
        BuildShardedHistogram()
            .Name("llmgw_request_duration_seconds")
            .Help("Time from the request's arrival to the last byte of the answer, by route")
            .Buckets(latency_buckets())};
    ShardedHistogramFamily first_byte{
        BuildShardedHistogram()
            .Name("llmgw_upstream_first_byte_seconds")
            .Help("Time from forwarding to the upstream's response head (time to first token), "
                  "by backend")
            .Buckets(latency_buckets())};
    ShardedHistogramFamily overhead{
        BuildShardedHistogram()
            .Name("llmgw_gateway_overhead_seconds")
            .Help("Time a request spent in llmgw itself: from its body read to the upstream "
                  "request, less the waits on Redis and the queue, plus the relay's own time "
                  "(answers without an upstream: to their end)")
            .Buckets(overhead_buckets())};
};

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
    auto& in_flight = prometheus::BuildGauge()
                          .Name("llmgw_requests_in_flight")
                          .Help("Requests being handled right now")
                          .Register(*registry_);
    limits_ = std::make_unique<LimitMetrics>(*registry_);
    queue_ = std::make_unique<QueueMetrics>(*registry_);
    families_.reset(new Families{
        prometheus::BuildCounter()
            .Name("llmgw_requests_total")
            .Help("Requests handled, by route, backend, tier and HTTP status code")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_upstream_errors_total")
            .Help("Failed upstream attempts by backend and kind: connect, tls, connect_timeout, "
                  "first_byte_timeout, "
                  "idle_timeout, total_timeout, reset, invalid, no_endpoint, overloaded")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_auth_failures_total")
            .Help("Requests refused by authentication, by reason")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_upstream_retries_total")
            .Help("Retries on another endpoint and automatic re-sends, by backend and outcome (attempt, budget_exhausted, resent)")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_upstream_connections_closed_total")
            .Help("Idle upstream keep-alive connections closed by the gateway, by backend and "
                  "reason (idle_timeout, server_closed, overflow)")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_tokens_total")
            .Help("LLM tokens by consumer and kind (prompt, completion), as reported or estimated")
            .Register(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_rate_limited_total")
            .Help("Requests refused by a rate limit or quota, by tier and limit")
            .Register(*registry_),
        redis_families(*registry_),
        prometheus::BuildCounter()
            .Name("llmgw_connections_refused_total")
            .Help("Client connections closed at once because server.max_connections were open")
            .Register(*registry_),
        prometheus::BuildGauge()
            .Name("llmgw_endpoint_healthy")
            .Help("1 when the endpoint passes its health checks (always 1 without health checks)")
            .Register(*registry_),
        prometheus::BuildGauge()
            .Name("llmgw_endpoint_circuit_state")
            .Help("Circuit breaker state per endpoint: 0 closed, 1 half-open, 2 open")
            .Register(*registry_),
        prometheus::BuildGauge()
            .Name("llmgw_endpoint_in_flight")
            .Help("Requests in flight to the endpoint")
            .Register(*registry_),
        in_flight.Add({})});
}

Metrics::~Metrics() = default;

struct Metrics::StoreFamilies {
    prometheus::Gauge& up;
    prometheus::Gauge& stale;
    prometheus::Gauge& pending;
    prometheus::Counter& dropped;
};

void Metrics::store_state(bool reachable, double stale_seconds, double pending_rows,
                          std::uint64_t dropped_total) {
    if (!store_) {
        auto& registry = *registry_;
        store_.reset(new StoreFamilies{
            prometheus::BuildGauge()
                .Name("llmgw_store_up")
                .Help("1 when the last call to the store's database succeeded")
                .Register(registry)
                .Add({}),
            prometheus::BuildGauge()
                .Name("llmgw_store_stale_seconds")
                .Help("Seconds since consumers and keys were last read whole from the store")
                .Register(registry)
                .Add({}),
            prometheus::BuildGauge()
                .Name("llmgw_store_ledger_pending_rows")
                .Help("Usage ledger rows aggregated in memory, not yet written")
                .Register(registry)
                .Add({}),
            prometheus::BuildCounter()
                .Name("llmgw_store_ledger_dropped_total")
                .Help("Requests left out of the usage ledger because its buffer was full")
                .Register(registry)
                .Add({})});
    }
    store_->up.Set(reachable ? 1 : 0);
    store_->stale.Set(stale_seconds);
    store_->pending.Set(pending_rows);
    const auto counted = static_cast<std::uint64_t>(store_->dropped.Value());
    if (dropped_total > counted) store_->dropped.Increment(static_cast<double>(dropped_total - counted));
}

void Metrics::request_started() {
    families_->in_flight.Increment();
}

void Metrics::request_finished(const AccessRecord& r) {
    families_->in_flight.Decrement();
    if (r.overhead) {
        thread_local HandleCache<ShardedHistogramFamily::Shard*> cache;
        auto* shard = cache.get(families_->owner, {}, [&] { return &families_->overhead.shard({}); });
        shard->observe(std::chrono::duration<double>(*r.overhead).count());
    }
    request_refused(r);
}

void Metrics::request_refused(const AccessRecord& r) {
    // Family::Add locks and hashes the label set; each worker thread keeps the
    // metric objects it already looked up.
    struct Cached {
        prometheus::Counter* requests;
        ShardedHistogramFamily::Shard* duration;
        ShardedHistogramFamily::Shard* first_byte;
    };
    thread_local std::unordered_map<std::string, Cached> cache;
    thread_local const Families* cache_owner = nullptr;
    if (cache_owner != families_.get()) {
        cache.clear();
        cache_owner = families_.get();
    }
    // The key is built in a buffer of the thread's (no allocation once it has grown); a status
    // is three digits.
    thread_local std::string key;
    key.assign(r.route);
    key.push_back('\0');
    key += r.backend;
    key.push_back('\0');
    key += r.tier;
    key.push_back('\0');
    if (r.status >= 100 && r.status <= 999) {
        const char digits[3] = {static_cast<char>('0' + r.status / 100),
                                static_cast<char>('0' + r.status / 10 % 10),
                                static_cast<char>('0' + r.status % 10)};
        key.append(digits, 3);
    } else {
        key += std::to_string(r.status);
    }
    auto it = cache.find(key);
    if (it == cache.end()) {
        Cached entry{&families_->requests.Add({{"route", r.route},
                                               {"backend", r.backend},
                                               {"tier", r.tier},
                                               {"code", status_label(r.status)}}),
                     &families_->duration.shard({{"route", r.route}}),
                     r.backend.empty() ? nullptr
                                       : &families_->first_byte.shard({{"backend", r.backend}})};
        it = cache.emplace(key, entry).first;
    }
    it->second.requests->Increment();
    it->second.duration->observe(std::chrono::duration<double>(r.duration).count());
    if (r.upstream_first_byte && it->second.first_byte)
        it->second.first_byte->observe(
            std::chrono::duration<double>(*r.upstream_first_byte).count());
}

void Metrics::upstream_error(std::string_view backend, std::string_view kind) {
    families_->upstream_errors.Add({{"backend", std::string(backend)}, {"kind", std::string(kind)}})
        .Increment();
}

void Metrics::auth_failure(std::string_view reason) {
    families_->auth_failures.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::retry(std::string_view backend, std::string_view outcome) {
    families_->retries.Add({{"backend", std::string(backend)}, {"outcome", std::string(outcome)}})
        .Increment();
}

void Metrics::upstream_connection_closed(std::string_view backend, std::string_view reason) {
    families_->upstream_connections_closed
        .Add({{"backend", std::string(backend)}, {"reason", std::string(reason)}})
        .Increment();
}

void Metrics::endpoint_state(std::string_view backend, std::string_view endpoint, bool healthy,
                             int circuit_state, int in_flight) {
    const std::map<std::string, std::string> labels = {{"backend", std::string(backend)},
                                                       {"endpoint", std::string(endpoint)}};
    families_->endpoint_healthy.Add(labels).Set(healthy ? 1 : 0);
    families_->circuit_state.Add(labels).Set(circuit_state);
    families_->endpoint_in_flight.Add(labels).Set(in_flight);
}

void Metrics::tokens(std::string_view consumer, std::uint64_t prompt, std::uint64_t completion) {
    struct Handles {
        prometheus::Counter* prompt;
        prometheus::Counter* completion;
    };
    thread_local HandleCache<Handles> cache;
    const auto& handles = cache.get(families_->owner, consumer, [&] {
        const std::string name(consumer);
        return Handles{&families_->tokens.Add({{"consumer", name}, {"kind", "prompt"}}),
                       &families_->tokens.Add({{"consumer", name}, {"kind", "completion"}})};
    });
    handles.prompt->Increment(static_cast<double>(prompt));
    handles.completion->Increment(static_cast<double>(completion));
}

void Metrics::rate_limited(std::string_view tier, std::string_view limit) {
    families_->rate_limited.Add({{"tier", std::string(tier)}, {"limit", std::string(limit)}})
        .Increment();
}

void Metrics::redis_call(std::chrono::steady_clock::duration latency, bool ok) {
    static const prometheus::Histogram::BucketBoundaries buckets = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1};
    // Resolved once per thread: Family::Add builds a histogram (and its bucket vectors) on
    // every call only to find the one it has.
    thread_local HandleCache<prometheus::Histogram*> cache;
    auto* histogram = cache.get(families_->owner, {}, [&] { return &families_->redis.latency.Add({}, buckets); });
    histogram->Observe(std::chrono::duration<double>(latency).count());
    if (!ok) families_->redis.errors.Add({}).Increment();
}

void Metrics::connection_refused() { families_->connections_refused.Add({}).Increment(); }

void Metrics::redis_fail_open() {
    families_->redis.fail_open.Add({}).Increment();
}

void Metrics::redis_tls_failure() {
    families_->redis.tls_failures.Add({}).Increment();
}

void Metrics::on_scrape(std::function<void()> hook) {
    scrape_hooks_.push_back(std::move(hook));
}

std::string Metrics::serialize() const {
    for (const auto& hook : scrape_hooks_) hook();
    std::ostringstream out;
    auto families = registry_->Collect();
    for (const auto* sharded : {&families_->duration, &families_->first_byte, &families_->overhead})
        for (auto& family : sharded->Collect()) families.push_back(std::move(family));
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

prometheus::Registry& Metrics::registry() {
    return *registry_;
}

}  // namespace llmgw::observability
