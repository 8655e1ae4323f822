// The table of tracing: where spans go (OTLP/HTTP), how many traces are kept, and the
// exporter's bounds. Every field applies at a reload.
#include "sections.hpp"
#include "values.hpp"

namespace llmgw::config::schema {

namespace {

// The collector's URL; without a path, OTLP/HTTP's /v1/traces.
Field<TracingConfig> collector_endpoint() {
    Field<TracingConfig> field;
    field.name = "endpoint";
    field.read = [](const YamlNode& node, TracingConfig& tracing, const Config&) {
        std::string path;
        tracing.collector = parse_url_with_path(node, path);
        tracing.path = path.empty() || path == "/" ? "/v1/traces" : path;
    };
    field.show = [](const TracingConfig& tracing, const Config&) {
        return json(tracing.collector.url);
    };
    field.same = [](const TracingConfig& a, const TracingConfig& b) {
        return a.collector == b.collector && a.path == b.path;
    };
    return std::move(field).required();
}

Field<TracingConfig> sample_ratio() {
    return member(
        "sample_ratio", &TracingConfig::sample_ratio,
        [](const YamlNode& node) {
            double ratio = -1;
            try {
                ratio = std::stod(node.as_string());
            } catch (const std::exception&) {
            }
            if (!(ratio >= 0.0 && ratio <= 1.0))
                node.fail("expected a number from 0 to 1, got \"" + node.raw() + "\"");
            return ratio;
        },
        [](double ratio) { return ratio; });
}

// Values are credentials (a collector's token): secret, as headers.set of a route.
Field<TracingConfig> collector_headers() {
    auto field = member("headers", &TracingConfig::headers, parse_header_map,
                        [](const std::vector<std::pair<std::string, std::string>>& headers) {
                            json out = json::object();
                            for (const auto& [name, value] : headers) out[name] = value;
                            return out;
                        });
    return std::move(field).secret();
}

void check_tracing(const YamlNode& node, TracingConfig& tracing, const Config&) {
    if (tracing.tls && !tracing.collector.tls)
        node["tls"].fail("applies to an https:// endpoint only");
    if (tracing.batch_size > tracing.max_queue)
        node["batch_size"].fail("must not exceed max_queue");
}

}  // namespace

const Section<TracingConfig>& tracing_section() {
    using S = TracingConfig;
    static const Section<S> section{
        {collector_endpoint(), sample_ratio(),
         text("service_name", &S::service_name,
              [](const std::string& name) { return name.empty() ? "must not be empty" : ""; }),
         collector_headers(), optional_nested("tls", &S::tls, backend_tls_section()),
         integer("batch_size", &S::batch_size, 1, 65536),
         integer("max_queue", &S::max_queue, 1, 1'000'000),
         duration("flush_interval", &S::flush_interval, positive()),
         duration("timeout", &S::timeout, positive())},
        check_tracing};
    return section;
}

}  // namespace llmgw::config::schema
