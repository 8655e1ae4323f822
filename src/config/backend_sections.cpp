// The tables of backends.<name>: endpoints, balancing, timeouts, health checks, circuit
// breaking, retries, TLS and pooled connections.
#include <algorithm>

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
        {std::move(url).required(), integer("weight", &S::weight, 1, 1000)}};
    return section;
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

void check_backend(const YamlNode& node, Backend& backend, const Config&) {
    if (backend.name.empty()) node.fail("a backend needs a name");
}

}  // namespace

const Section<Backend>& backend_section() {
    using S = Backend;
    static const Names<BalancerKind> balancers{{{"round_robin", BalancerKind::round_robin},
                                                {"weighted", BalancerKind::weighted},
                                                {"least_request", BalancerKind::least_request}}};
    static const Section<S> section{
        {list_of("endpoints", &S::endpoints, endpoint_section(), "endpoint").required(),
         choice("balancer", &S::balancer, balancers),
         nested("timeouts", &S::timeouts, timeouts_section()),
         optional_nested("health_check", &S::health_check, health_check_section()),
         nested("circuit_breaker", &S::circuit_breaker, circuit_breaker_section()),
         nested("retries", &S::retries, retries_section()), backend_tls(),
         nested("keepalive", &S::keepalive, keepalive_section())},
        check_backend};
    return section;
}

}  // namespace llmgw::config::schema
