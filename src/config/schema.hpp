// The schema's building blocks: a section is a table of fields, and each field states once its
// key, how it is read and checked, how /admin/config shows it, and whether a reload changes it.
// The loader, the redacted JSON, the restart list and the docs check all walk these tables.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmgw/config/config.hpp"
#include "yaml_node.hpp"

namespace llmgw::config::schema {

using nlohmann::json;

// Whether a reload applies a changed value, or the running value stays until a restart.
enum class Reload { live, restart };

template <typename S>
struct Field {
    std::string_view name;  // the YAML key
    // Parses and checks the key's value into the section. `config` is the document as read so
    // far (the root table's earlier sections), for references such as a route's backend.
    std::function<void(const YamlNode&, S&, const Config&)> read;
    // The value as /admin/config shows it; a discarded json leaves the key out.
    std::function<json(const S&, const Config&)> show;
    // True when a reload would not change the running value.
    std::function<bool(const S&, const S&)> same;
    // Nested sections only: their own fields' restart-only changes and paths, under `path`.
    std::function<void(const S&, const S&, const std::string& path, std::vector<std::string>&)>
        nested_changes = {};
    std::function<void(const std::string& path, std::vector<std::string>&)> nested_paths = {};
    bool is_required = false;
    bool is_secret = false;  // shown as "<redacted>" (each value of a mapping)
    Reload reload = Reload::live;

    Field required() && {
        is_required = true;
        return std::move(*this);
    }
    Field secret() && {
        is_secret = true;
        return std::move(*this);
    }
    Field restart() && {
        reload = Reload::restart;
        return std::move(*this);
    }
};

template <typename S>
struct Section {
    std::vector<Field<S>> fields;
    // Rules across fields, run after every present field was read (may also fill defaults).
    std::function<void(const YamlNode&, S&, const Config&)> check = {};
};

// "<redacted>" for a set string (null for an empty one); a mapping's values each redacted.
json redact(json value);
std::string join(const std::string& path, std::string_view name);

template <typename S>
void read_section(const Section<S>& section, const YamlNode& node, S& out, const Config& config) {
    std::vector<std::string_view> names;
    for (const auto& field : section.fields)
        if (field.read) names.push_back(field.name);
    node.expect_keys(names);
    for (const auto& field : section.fields) {
        if (!field.read) continue;  // shown only
        if (node.has(field.name))
            field.read(node[field.name], out, config);
        else if (field.is_required)
            node.fail("missing required key \"" + std::string(field.name) + "\"");
    }
    if (section.check) section.check(node, out, config);
}

template <typename S>
json show_section(const Section<S>& section, const S& value, const Config& config) {
    json out = json::object();
    for (const auto& field : section.fields) {
        auto shown = field.show(value, config);
        if (shown.is_discarded()) continue;
        out[std::string(field.name)] = field.is_secret ? redact(std::move(shown)) : shown;
    }
    return out;
}

// The paths of the restart-only fields whose value differs, as written in the file.
template <typename S>
void restart_changes(const Section<S>& section, const S& running, const S& loaded,
                     const std::string& path, std::vector<std::string>& out) {
    for (const auto& field : section.fields) {
        const auto field_path = join(path, field.name);
        if (!field.read) continue;  // shown only
        if (field.reload == Reload::restart && !field.same(running, loaded))
            out.push_back(field_path);
        else if (field.nested_changes)
            field.nested_changes(running, loaded, field_path, out);
    }
}

template <typename S>
void field_paths(const Section<S>& section, const std::string& path,
                 std::vector<std::string>& out) {
    for (const auto& field : section.fields) {
        const auto field_path = join(path, field.name);
        if (!field.read) continue;  // shown only
        if (field.nested_paths)
            field.nested_paths(field_path, out);
        else
            out.push_back(field_path);
    }
}

// ---- Field kinds. Each reads a member of the section, shows it, and compares it with ==.

// A check on a parsed value: the error message, or "" when the value is fine.
template <typename T>
using Rule = std::function<std::string(const T&)>;

Rule<Duration> positive();
Rule<Duration> at_least(Duration minimum);

// The common shape: `parse(node)` gives the member's value, `to_json(value)` shows it.
template <typename S, typename T, typename Parse, typename Show>
Field<S> member(std::string_view name, T S::*m, Parse parse, Show to_json) {
    return {name, [=](const YamlNode& node, S& s, const Config&) { s.*m = parse(node); },
            [=](const S& s, const Config&) { return json(to_json(s.*m)); },
            [=](const S& a, const S& b) { return a.*m == b.*m; }};
}

template <typename T>
auto checked(Rule<T> rule) {
    return [rule](const YamlNode& node, const T& value) {
        if (!rule) return;
        if (auto problem = rule(value); !problem.empty()) node.fail(problem);
    };
}

// Not a key of the file: a part of another field that /admin/config shows on its own (the
// Redis user and password, which the shown URL leaves out).
template <typename S, typename Show>
Field<S> shown_only(std::string_view name, Show show) {
    Field<S> field;
    field.name = name;
    field.show = [show](const S& s, const Config&) { return json(show(s)); };
    return field;
}

template <typename S>
Field<S> text(std::string_view name, std::string S::*m, Rule<std::string> rule = {}) {
    return member(
        name, m,
        [check = checked(rule)](const YamlNode& node) {
            auto value = node.as_string();
            check(node, value);
            return value;
        },
        [](const std::string& value) { return value; });
}

template <typename S>
Field<S> optional_text(std::string_view name, std::optional<std::string> S::*m) {
    auto field = member(
        name, m, [](const YamlNode& node) { return std::optional(node.as_string()); },
        [](const std::optional<std::string>& value) { return value ? json(*value) : json(); });
    field.show = [m](const S& s, const Config&) {
        return s.*m ? json(*(s.*m)) : json(json::value_t::discarded);
    };
    return field;
}

template <typename S, typename T>
Field<S> integer(std::string_view name, T S::*m, std::uint64_t min, std::uint64_t max) {
    return member(
        name, m, [=](const YamlNode& node) { return static_cast<T>(node.as_uint(min, max)); },
        [](T value) { return value; });
}

template <typename S>
Field<S> number(std::string_view name, double S::*m, double min, double max) {
    return member(
        name, m, [=](const YamlNode& node) { return node.as_number(min, max); },
        [](double value) { return value; });
}

template <typename S, typename T>
Field<S> size(std::string_view name, T S::*m, Rule<std::uint64_t> rule = {}) {
    return member(
        name, m,
        [check = checked(rule)](const YamlNode& node) {
            const std::uint64_t value = node.as_size();
            check(node, value);
            return static_cast<T>(value);
        },
        [](T value) { return value; });
}

std::string format_duration(Duration d);

template <typename S>
Field<S> duration(std::string_view name, Duration S::*m, Rule<Duration> rule = {}) {
    return member(
        name, m,
        [check = checked(rule)](const YamlNode& node) {
            const auto value = node.as_duration();
            check(node, value);
            return value;
        },
        format_duration);
}

template <typename S>
Field<S> flag(std::string_view name, bool S::*m) {
    return member(
        name, m, [](const YamlNode& node) { return node.as_bool(); },
        [](bool value) { return value; });
}

// The names of an enum's values, in the order the error message lists them.
template <typename E>
struct Names {
    std::vector<std::pair<std::string_view, E>> values;
    bool quoted = false;  // written quoted in the file ("1.2")

    // "expected a, b or c, got \"x\"" unless `text` names a value.
    E parse(const YamlNode& node) const;
    std::string_view name(E value) const {
        for (const auto& [name, v] : values)
            if (v == value) return name;
        return "";
    }
};

// "a, b or c" (quoted when `quoted`).
std::string list_names(const std::vector<std::string_view>& names, bool quoted);

template <typename E>
E Names<E>::parse(const YamlNode& node) const {
    const auto text = node.as_string();
    std::vector<std::string_view> names;
    for (const auto& [name, value] : values) {
        if (name == text) return value;
        names.push_back(name);
    }
    node.fail("expected " + list_names(names, quoted) + ", got \"" + node.raw() + "\"");
}

template <typename S, typename E>
Field<S> choice(std::string_view name, E S::*m, const Names<E>& names) {
    return member(
        name, m, [&names](const YamlNode& node) { return names.parse(node); },
        [&names](E value) { return std::string(names.name(value)); });
}

// A nested mapping (always present; its keys are optional).
template <typename S, typename T>
Field<S> nested(std::string_view name, T S::*m, const Section<T>& section) {
    Field<S> field{name,
                   [m, &section](const YamlNode& node, S& s, const Config& config) {
                       read_section(section, node, s.*m, config);
                   },
                   [m, &section](const S& s, const Config& config) {
                       auto shown = show_section(section, s.*m, config);
                       return shown.empty() ? json(json::value_t::discarded) : shown;
                   },
                   [m](const S& a, const S& b) { return a.*m == b.*m; }};
    field.nested_changes = [m, &section](const S& a, const S& b, const std::string& path,
                                         std::vector<std::string>& out) {
        restart_changes(section, a.*m, b.*m, path, out);
    };
    field.nested_paths = [&section](const std::string& path, std::vector<std::string>& out) {
        field_paths(section, path, out);
    };
    return field;
}

// A nested mapping whose presence means something (server.tls, health_check). Its `same`
// compares presence and content; restart_changes looks inside when both have it.
template <typename S, typename T>
Field<S> optional_nested(std::string_view name, std::optional<T> S::*m, const Section<T>& section) {
    Field<S> field{name,
                   [m, &section](const YamlNode& node, S& s, const Config& config) {
                       read_section(section, node, s.*m ? *(s.*m) : (s.*m).emplace(), config);
                   },
                   [m, &section](const S& s, const Config& config) {
                       return s.*m ? show_section(section, *(s.*m), config)
                                   : json(json::value_t::discarded);
                   },
                   [m](const S& a, const S& b) { return a.*m == b.*m; }};
    field.nested_changes = [m, &section](const S& a, const S& b, const std::string& path,
                                         std::vector<std::string>& out) {
        if (a.*m && b.*m) restart_changes(section, *(a.*m), *(b.*m), path, out);
    };
    field.nested_paths = [&section](const std::string& path, std::vector<std::string>& out) {
        field_paths(section, path, out);
    };
    return field;
}

// A list of mappings, each read by `section`; `what` names an item in "needs at least one ...".
template <typename S, typename T>
Field<S> list_of(std::string_view name, std::vector<T> S::*m, const Section<T>& section,
                 std::string_view what) {
    Field<S> field{name,
                   [m, &section, what](const YamlNode& node, S& s, const Config& config) {
                       node.for_each_item([&](const YamlNode& item) {
                           T value;
                           read_section(section, item, value, config);
                           (s.*m).push_back(std::move(value));
                       });
                       if (!what.empty() && (s.*m).empty())
                           node.fail("needs at least one " + std::string(what));
                   },
                   [m, &section](const S& s, const Config& config) {
                       json out = json::array();
                       for (const auto& value : s.*m)
                           out.push_back(show_section(section, value, config));
                       return out;
                   },
                   [m](const S& a, const S& b) { return a.*m == b.*m; }};
    field.nested_paths = [&section](const std::string& path, std::vector<std::string>& out) {
        field_paths(section, path + "[]", out);
    };
    return field;
}

// A mapping of named mappings (backends.<name>); `name_of` is where the item keeps its name.
template <typename S, typename T>
Field<S> map_of(std::string_view name, std::vector<T> S::*m, std::string T::*name_of,
                const Section<T>& section, std::string_view what) {
    Field<S> field{name,
                   [=, &section](const YamlNode& node, S& s, const Config& config) {
                       node.for_each_entry([&](const std::string& key, const YamlNode& item) {
                           T value;
                           value.*name_of = key;
                           read_section(section, item, value, config);
                           (s.*m).push_back(std::move(value));
                       });
                       if ((s.*m).empty()) node.fail("needs at least one " + std::string(what));
                   },
                   [=, &section](const S& s, const Config& config) {
                       json out = json::object();
                       for (const auto& value : s.*m)
                           out[value.*name_of] = show_section(section, value, config);
                       return out;
                   },
                   [m](const S& a, const S& b) { return a.*m == b.*m; }};
    field.nested_paths = [&section](const std::string& path, std::vector<std::string>& out) {
        field_paths(section, path + ".<name>", out);
    };
    return field;
}

}  // namespace llmgw::config::schema
