// Typed, error-reporting access to YAML nodes for the config loader.
#include "yaml_node.hpp"

#include <charconv>
#include <cstdlib>
#include <set>

#include "llmgw/config/loader.hpp"
#include "llmgw/config/units.hpp"

namespace llmgw::config {

namespace {
int line_of(const YAML::Node& node, int fallback) {
    if (!node) return fallback;
    const auto mark = node.Mark();
    return mark.line >= 0 ? mark.line + 1 : fallback;
}
// Shortest form that reads back the same: 0.02, 1e+06.
std::string format_number(double value) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return ec == std::errc{} ? std::string(buf, end) : std::to_string(value);
}
}  // namespace

YamlNode::YamlNode(YAML::Node node, std::string key, const std::string* source, int line)
    : node_(std::move(node)), key_(std::move(key)), source_(source), line_(line_of(node_, line)) {}

void YamlNode::fail(std::string_view message) const {
    std::string text = *source_ + ":" + std::to_string(line_) + ": ";
    if (!key_.empty()) text += key_ + ": ";
    text += message;
    throw ConfigError(text);
}

void YamlNode::expect_map() const {
    if (!node_.IsMap()) fail("expected a mapping");
}

void YamlNode::expect_keys(std::initializer_list<std::string_view> allowed) const {
    expect_keys(std::vector<std::string_view>(allowed));
}

void YamlNode::expect_keys(const std::vector<std::string_view>& allowed) const {
    expect_map();
    std::set<std::string> seen;
    for (const auto& entry : node_) {
        const YamlNode key_node(entry.first, key_, source_, line_);
        if (!entry.first.IsScalar()) key_node.fail("keys must be strings");
        const auto name = entry.first.Scalar();
        const auto child_key = key_.empty() ? name : key_ + "." + name;
        const YamlNode located(entry.first, child_key, source_, line_);
        bool known = false;
        for (auto a : allowed) known = known || a == name;
        if (!known) located.fail("unknown key");
        if (!seen.insert(name).second) located.fail("duplicate key");
    }
}

bool YamlNode::has(std::string_view child) const {
    return node_.IsMap() && node_[std::string(child)].IsDefined();
}

YamlNode YamlNode::operator[](std::string_view child) const {
    const auto child_key = key_.empty() ? std::string(child) : key_ + "." + std::string(child);
    if (!node_.IsMap()) fail("expected a mapping");
    // Const access: a missing key yields an undefined node instead of inserting one.
    const YAML::Node& self = node_;
    return YamlNode(self[std::string(child)], child_key, source_, line_);
}

void YamlNode::for_each_item(const std::function<void(const YamlNode&)>& visit) const {
    if (!node_.IsSequence()) fail("expected a list");
    std::size_t index = 0;
    for (const auto& item : node_) {
        visit(YamlNode(item, key_ + "[" + std::to_string(index) + "]", source_, line_));
        ++index;
    }
}

void YamlNode::for_each_entry(
    const std::function<void(const std::string&, const YamlNode&)>& visit) const {
    expect_map();
    std::set<std::string> seen;
    for (const auto& entry : node_) {
        const YamlNode key_node(entry.first, key_, source_, line_);
        if (!entry.first.IsScalar()) key_node.fail("keys must be strings");
        const auto name = entry.first.Scalar();
        const auto child_key = key_ + "." + name;
        if (!seen.insert(name).second)
            YamlNode(entry.first, child_key, source_, line_).fail("duplicate key");
        visit(name, YamlNode(entry.second, child_key, source_, line_of(entry.first, line_)));
    }
}

std::string YamlNode::as_string() const {
    if (!node_ || !node_.IsScalar()) fail("expected a string");
    return substitute_env(node_.Scalar(), [this](const std::string& msg) { fail(msg); });
}

std::string YamlNode::raw() const {
    return node_ && node_.IsScalar() ? node_.Scalar() : std::string();
}

std::uint64_t YamlNode::as_uint(std::uint64_t min, std::uint64_t max) const {
    const auto text = as_string();
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
             ", got \"" + node_.Scalar() + "\"");
    return value;
}

double YamlNode::as_number(double min, double max) const {
    const auto text = as_string();
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !(value >= min && value <= max))
        fail("expected a number from " + format_number(min) + " to " + format_number(max) +
             ", got \"" + node_.Scalar() + "\"");
    return value;
}

bool YamlNode::as_bool() const {
    const auto text = as_string();
    if (text == "true") return true;
    if (text == "false") return false;
    fail("expected true or false, got \"" + node_.Scalar() + "\"");
}

std::chrono::milliseconds YamlNode::as_duration() const {
    const auto text = as_string();
    const auto value = parse_duration(text);
    if (!value)
        fail("invalid duration \"" + node_.Scalar() + "\" (use a number with ms, s, m, h or d)");
    return *value;
}

std::size_t YamlNode::as_size() const {
    const auto text = as_string();
    const auto value = parse_size(text);
    if (!value)
        fail("invalid size \"" + node_.Scalar() +
             "\" (use bytes or a number with KiB, MiB or GiB)");
    return *value;
}

std::string substitute_env(std::string_view text,
                           const std::function<void(const std::string&)>& fail) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find("${", pos);
        if (open == std::string_view::npos) {
            out.append(text.substr(pos));
            break;
        }
        out.append(text.substr(pos, open - pos));
        const auto close = text.find('}', open + 2);
        if (close == std::string_view::npos) {
            fail("unterminated ${ in \"" + std::string(text) + "\"");
            return out;
        }
        const std::string name(text.substr(open + 2, close - open - 2));
        const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
        if (value == nullptr) {
            fail("environment variable ${" + name + "} is not set");
            return out;
        }
        out.append(value);
        pos = close + 1;
    }
    return out;
}

}  // namespace llmgw::config
