// The tables of backends.<name>: endpoints, balancing, timeouts, health checks, circuit
// breaking, retries, TLS and pooled connections.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "sections.hpp"
#include "values.hpp"

namespace llmgw::config::schema {

namespace {

const Section<Endpoint>& endpoint_section() {
    using S = Endpoint;
    // The URL fills host, port and tls too; the weight is kept.
    Field<S> url{"url",
                 [](const YamlNode& node, S& endpoint, const Config&) {
                     const auto weight = endpoint.weight;
                     endpoint = parse_endpoint_url(node);
                     endpoint.weight = weight;
                 },
                 [](const S& endpoint, const Config&) { return json(endpoint.url); },
                 [](const S& a, const S& b) { return a.url == b.url; }};
    static const Section<S> section{
        {std::move(url).required(), integer("weight", &S::weight, 1, 1000),
         integer("max_concurrent", &S::max_concurrent, 1, 1'000'000)}};
    return section;
}

const Section<QueueConfig>& queue_section() {
    using S = QueueConfig;
    static const Section<S> section{{integer("max_waiting", &S::max_waiting, 1, 1'000'000),
                                     duration("timeout", &S::timeout, positive())}};
    return section;
}

// fallbacks: each item a backend name, or {backend, model} when the model is named otherwise
// there. The names are checked once every backend is read (a fallback may come later).
Fallback read_fallback(const YamlNode& item) {
    Fallback fallback;
    if (!item.is_map()) {
        fallback.backend = item.as_string();
    } else {
        item.expect_keys({"backend", "model"});
        if (!item.has("backend")) item.fail("missing required key \"backend\"");
        fallback.backend = item["backend"].as_string();
        if (item.has("model")) fallback.model = item["model"].as_string();
        if (fallback.model && fallback.model->empty()) item["model"].fail("must not be empty");
    }
    if (fallback.backend.empty()) item.fail("a fallback names a backend");
    return fallback;
}

Field<Backend> fallbacks() {
    auto field = member(
        "fallbacks", &Backend::fallbacks,
        [](const YamlNode& node) {
            std::vector<Fallback> list;
            node.for_each_item([&](const YamlNode& item) { list.push_back(read_fallback(item)); });
            return list;
        },
        [](const std::vector<Fallback>& list) {
            json out = json::array();
            for (const auto& fallback : list) {
                if (fallback.model)
                    out.push_back({{"backend", fallback.backend}, {"model", *fallback.model}});
                else
                    out.push_back(fallback.backend);
            }
            return out;
        });
    field.nested_paths = [](const std::string& path, std::vector<std::string>& out) {
        out.push_back(path);
        out.push_back(path + "[].backend");
        out.push_back(path + "[].model");
    };
    return field;
}

const Section<BackendTimeouts>& timeouts_section() {
    using S = BackendTimeouts;
    static const Section<S> section{{duration("connect", &S::connect, positive()),
                                     duration("first_byte", &S::first_byte, positive()),
                                     duration("idle", &S::idle, positive()),
                                     duration("total", &S::total, positive())}};
    return section;
}

const Section<HealthCheck>& health_check_section() {
    using S = HealthCheck;
    static const Section<S> section{
        {member("path", &S::path, parse_path_prefix, [](const std::string& p) { return p; }),
         duration("interval", &S::interval, positive()),
         duration("timeout", &S::timeout, positive()),
         integer("unhealthy_after", &S::unhealthy_after, 1, 100),
         integer("healthy_after", &S::healthy_after, 1, 100)}};
    return section;
}

const Section<CircuitBreakerConfig>& circuit_breaker_section() {
    using S = CircuitBreakerConfig;
    static const Section<S> section{{integer("failure_threshold", &S::failure_threshold, 1, 10000),
                                     duration("open_for", &S::open_for, positive()),
                                     integer("half_open_requests", &S::half_open_requests, 1, 1000),
                                     integer("max_concurrent", &S::max_concurrent, 1, 10'000'000)}};
    return section;
}

const Names<RetryOn>& retry_kinds() {
    static const Names<RetryOn> kinds{{{"connect_failure", RetryOn::connect_failure},
                                       {"reset", RetryOn::reset},
                                       {"502", RetryOn::status_502},
                                       {"503", RetryOn::status_503},
                                       {"timeout", RetryOn::timeout}}};
    return kinds;
}

// retries.on: a list of kinds kept as a bit set; the list replaces the default.
Field<RetryPolicy> retry_on() {
    return member(
        "on", &RetryPolicy::on,
        [](const YamlNode& node) {
            unsigned on = 0;
            node.for_each_item([&](const YamlNode& item) {
                on |= static_cast<unsigned>(retry_kinds().parse(item));
            });
            return on;
        },
        [](unsigned on) {
            json out = json::array();
            for (const auto& [name, kind] : retry_kinds().values)
                if ((on & static_cast<unsigned>(kind)) != 0) out.push_back(name);
            return out;
        });
}

const Section<RetryPolicy>& retries_section() {
    using S = RetryPolicy;
    static const Section<S> section{{integer("attempts", &S::attempts, 0, 10), retry_on()}};
    return section;
}

const Section<Keepalive>& keepalive_section() {
    using S = Keepalive;
    static const Section<S> section{
        {duration("idle", &S::idle), integer("max_idle", &S::max_idle, 0, 100'000)}};
    return section;
}

// engine_metrics.port: shown only when set (unset, the endpoint's own port is scraped).
Field<EngineMetricsConfig> metrics_port() {
    auto field = integer("port", &EngineMetricsConfig::port, 1, 65535);
    field.show = [](const EngineMetricsConfig& metrics, const Config&) {
        return metrics.port == 0 ? json(json::value_t::discarded) : json(metrics.port);
    };
    return field;
}

const Section<EngineMetricsConfig>& engine_metrics_section() {
    using S = EngineMetricsConfig;
    static const Section<S> section{
        {member("path", &S::path, parse_path_prefix, [](const std::string& p) { return p; }),
         duration("interval", &S::interval, positive()),
         duration("timeout", &S::timeout, positive()),
         duration("stale_after", &S::stale_after, positive()), metrics_port()}};
    return section;
}

// affinity.max_load: a ratio above 1 (1 would hold no endpoint above the mean).
Field<AffinityConfig> max_load() {
    return member(
        "max_load", &AffinityConfig::max_load,
        [](const YamlNode& node) {
            const auto text = node.as_string();
            std::size_t used = 0;
            double value = 0;
            try {
                value = std::stod(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != text.size() || !std::isfinite(value) || value <= 1.0 || value > 100.0)
                node.fail("expected a number above 1 and at most 100, got \"" + node.raw() + "\"");
            return value;
        },
        [](double value) { return value; });
}

Field<AffinityConfig> affinity_header() {
    return member(
        "header", &AffinityConfig::header,
        [](const YamlNode& node) {
            auto name = node.as_string();
            if (name.empty()) node.fail("a header name cannot be empty");
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            return name;
        },
        [](const std::string& name) { return name; });
}

void check_affinity(const YamlNode& node, AffinityConfig& affinity, const Config&) {
    if (affinity.block_bytes > affinity.prefix_bytes)
        node.fail("block_bytes must not exceed prefix_bytes");
}

const Section<AffinityConfig>& affinity_section() {
    using S = AffinityConfig;
    static const Names<S::By> bys{
        {{"prefix", S::By::prefix}, {"header", S::By::header}, {"consumer", S::By::consumer}}};
    static const Section<S> section{
        {choice("by", &S::by, bys), affinity_header(),
         size("prefix_bytes", &S::prefix_bytes,
              [](std::uint64_t v) {
                  return v >= 64 && v <= 16 * 1024 * 1024 ? "" : "expected 64 bytes to 16MiB";
              }),
         size("block_bytes", &S::block_bytes,
              [](std::uint64_t v) {
                  return v >= 16 && v <= 1024 * 1024 ? "" : "expected 16 bytes to 1MiB";
              }),
         max_load()},
        check_affinity};
    return section;
}

bool any_https(const Backend& backend) {
    return std::any_of(backend.endpoints.begin(), backend.endpoints.end(),
                       [](const Endpoint& e) { return e.tls; });
}

// backends.<name>.tls applies to https:// endpoints only (read after the endpoints).
Field<Backend> backend_tls() {
    auto field = nested("tls", &Backend::tls, backend_tls_section());
    auto read = field.read;
    field.read = [read](const YamlNode& node, Backend& backend, const Config& config) {
        if (!any_https(backend))
            node.fail("applies to https:// endpoints, and this backend has none");
        read(node, backend, config);
    };
    return field;
}

bool has_capacity(const Backend& backend) {
    return backend.circuit_breaker.max_concurrent > 0 ||
           std::any_of(backend.endpoints.begin(), backend.endpoints.end(),
                       [](const Endpoint& e) { return e.max_concurrent > 0; });
}

void check_backend(const YamlNode& node, Backend& backend, const Config&) {
    if (backend.name.empty()) node.fail("a backend needs a name");
    // Without a capacity nothing is ever full, so nothing would ever wait: say so.
    if (backend.queue && !has_capacity(backend))
        node["queue"].fail(
            "needs a capacity to wait for: endpoints[].max_concurrent or "
            "circuit_breaker.max_concurrent");
}

}  // namespace

const Section<Backend>& backend_section() {
    using S = Backend;
    static const Names<BalancerKind> balancers{{{"round_robin", BalancerKind::round_robin},
                                                {"weighted", BalancerKind::weighted},
                                                {"least_request", BalancerKind::least_request},
                                                {"engine_aware", BalancerKind::engine_aware}}};
    static const Names<EngineKind> engines{{{"none", EngineKind::none},
                                            {"vllm", EngineKind::vllm},
                                            {"sglang", EngineKind::sglang},
                                            {"trtllm", EngineKind::trtllm},
                                            {"triton", EngineKind::triton}}};
    static const Section<S> section{
        {list_of("endpoints", &S::endpoints, endpoint_section(), "endpoint").required(),
         choice("balancer", &S::balancer, balancers),
         // Scrapes start with the backend's state: a changed engine needs a restart of it,
         // which a reload gives (a changed backend gets a fresh state).
         choice("engine", &S::engine, engines),
         nested("engine_metrics", &S::engine_metrics, engine_metrics_section()),
         optional_nested("affinity", &S::affinity, affinity_section()),
         nested("timeouts", &S::timeouts, timeouts_section()),
         optional_nested("health_check", &S::health_check, health_check_section()),
         nested("circuit_breaker", &S::circuit_breaker, circuit_breaker_section()),
         nested("retries", &S::retries, retries_section()), backend_tls(),
         nested("keepalive", &S::keepalive, keepalive_section()),
         optional_nested("queue", &S::queue, queue_section()), fallbacks()},
        check_backend};
    return section;
}

// Every backend is read: each fallback names another one, once.
void check_fallbacks(const YamlNode& backends_node, const Config& config) {
    for (const auto& backend : config.backends) {
        std::vector<std::string> seen;
        for (const auto& fallback : backend.fallbacks) {
            const auto at = backends_node[backend.name]["fallbacks"];
            if (fallback.backend == backend.name) at.fail("a backend cannot fall back to itself");
            if (std::none_of(config.backends.begin(), config.backends.end(),
                             [&](const Backend& b) { return b.name == fallback.backend; }))
                at.fail("unknown backend \"" + fallback.backend + "\"");
            if (std::find(seen.begin(), seen.end(), fallback.backend) != seen.end())
                at.fail("backend \"" + fallback.backend + "\" is listed twice");
            seen.push_back(fallback.backend);
        }
    }
}

}  // namespace llmgw::config::schema
