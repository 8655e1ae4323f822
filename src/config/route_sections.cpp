// The tables of routes[]: matching, the backend, rewrites, header edits, caching and tiers.
#include <algorithm>

#include "auth_sections.hpp"
#include "sections.hpp"
#include "values.hpp"

namespace llmgw::config::schema {

namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

json header_object(const HeaderList& headers) {
    json out = json::object();
    for (const auto& [name, value] : headers) out[name] = value;
    return out;
}

// A header map; left out of /admin/config when empty.
template <typename S>
Field<S> header_map(std::string_view name, HeaderList S::*m) {
    auto field = member(name, m, parse_header_map, header_object);
    field.show = [m](const S& s, const Config&) {
        return (s.*m).empty() ? json(json::value_t::discarded) : header_object(s.*m);
    };
    return field;
}

const Section<RouteMatch>& match_section() {
    using S = RouteMatch;
    static const Names<S::ModelFrom> model_from{
        {{"body", S::ModelFrom::body}, {"path", S::ModelFrom::path}}};
    static const Section<S> section{{member("path_prefix", &S::path_prefix, parse_path_prefix,
                                            [](const std::string& p) { return p; }),
                                     header_map("headers", &S::headers),
                                     optional_text("model", &S::model),
                                     choice("model_from", &S::model_from, model_from)}};
    return section;
}

const Section<RouteRewrite>& rewrite_section() {
    using S = RouteRewrite;
    auto path_prefix = optional_text("path_prefix", &S::path_prefix);
    path_prefix.read = [](const YamlNode& node, S& rewrite, const Config&) {
        rewrite.path_prefix = parse_path_prefix(node);
    };
    static const Section<S> section{{std::move(path_prefix), optional_text("model", &S::model)}};
    return section;
}

// headers.set values may be credentials (an upstream API key): secret.
Field<HeaderEdits> header_set() {
    auto field = header_map("set", &HeaderEdits::set);
    field.read = [](const YamlNode& node, HeaderEdits& edits, const Config&) {
        edits.set = parse_header_map(node);
        for (const auto& [name, value] : edits.set)
            if (managed_by_gateway(name)) node[name].fail("this header is managed by the gateway");
    };
    return std::move(field).secret();
}

Field<HeaderEdits> header_remove() {
    using S = HeaderEdits;
    auto field = member(
        "remove", &S::remove,
        [](const YamlNode& node) {
            std::vector<std::string> names;
            node.for_each_item(
                [&](const YamlNode& item) { names.push_back(parse_removable_header(item)); });
            return names;
        },
        [](const std::vector<std::string>& names) { return names; });
    field.show = [](const S& edits, const Config&) {
        return edits.remove.empty() ? json(json::value_t::discarded) : json(edits.remove);
    };
    return field;
}

const Section<HeaderEdits>& header_edits_section() {
    static const Section<HeaderEdits> section{{header_set(), header_remove()}};
    return section;
}

// The backend by name, kept as its index into Config::backends.
Field<Route> route_backend() {
    return Field<Route>{"backend",
                        [](const YamlNode& node, Route& route, const Config& config) {
                            const auto name = node.as_string();
                            const auto& backends = config.backends;
                            const auto found =
                                std::find_if(backends.begin(), backends.end(),
                                             [&](const Backend& b) { return b.name == name; });
                            if (found == backends.end())
                                node.fail("unknown backend \"" + node.raw() + "\"");
                            route.backend = static_cast<std::size_t>(found - backends.begin());
                        },
                        [](const Route& route, const Config& config) {
                            return json(config.backends[route.backend].name);
                        },
                        [](const Route& a, const Route& b) { return a.backend == b.backend; }}
        .required();
}

// An allow-list of tiers defined under `tiers` (read before routes).
Field<Route> route_tiers() {
    return Field<Route>{
        "tiers",
        [](const YamlNode& node, Route& route, const Config& config) {
            route.tiers.emplace();
            node.for_each_item([&](const YamlNode& item) {
                route.tiers->push_back(item.as_string());
                require_tier(item, route.tiers->back(), config.tiers);
            });
            if (route.tiers->empty())
                node.fail("an empty list admits no one (leave tiers out to admit all)");
        },
        [](const Route& route, const Config&) {
            return route.tiers ? json(*route.tiers) : json(json::value_t::discarded);
        },
        [](const Route& a, const Route& b) { return a.tiers == b.tiers; }};
}

void check_route(const YamlNode& node, Route& route, const Config& config) {
    for (const auto& other : config.routes)
        if (other.name == route.name)
            node["name"].fail("duplicate route name \"" + node["name"].raw() + "\"");
}

}  // namespace

const Section<Route>& route_section() {
    using S = Route;
    static const Names<S::Models> model_lists{
        {{"upstream", S::Models::upstream}, {"gateway", S::Models::gateway}}};
    static const Section<S> section{
        {text("name", &S::name,
              [](const std::string& name) { return name.empty() ? "must not be empty" : ""; })
             .required(),
         nested("match", &S::match, match_section()), route_backend(),
         nested("rewrite", &S::rewrite, rewrite_section()),
         nested("headers", &S::headers, header_edits_section()),
         optional_nested("cache", &S::cache, route_cache_section()), route_tiers(),
         choice("models", &S::models, model_lists)},
        check_route};
    return section;
}

}  // namespace llmgw::config::schema
