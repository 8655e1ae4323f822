// A YAML node that knows its dotted key and line, so every config error can name both.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::config {

class YamlNode {
public:
    YamlNode(YAML::Node node, std::string key, const std::string* source, int line);

    [[noreturn]] void fail(std::string_view message) const;

    const std::string& key() const { return key_; }
    bool is_map() const { return node_.IsMap(); }
    bool is_sequence() const { return node_.IsSequence(); }
    bool is_null() const { return !node_ || node_.IsNull(); }

    // Fails unless this is a mapping whose keys are all in `allowed` (and unique).
    void expect_keys(std::initializer_list<std::string_view> allowed) const;
    void expect_keys(const std::vector<std::string_view>& allowed) const;
    // Fails unless this is a mapping (any keys).
    void expect_map() const;
    bool has(std::string_view child) const;
    YamlNode operator[](std::string_view child) const;

    // Calls `visit` on each element of a sequence.
    void for_each_item(const std::function<void(const YamlNode&)>& visit) const;
    // Calls `visit(key, value)` on each entry of a mapping.
    void for_each_entry(
        const std::function<void(const std::string&, const YamlNode&)>& visit) const;

    // Scalars; `${NAME}` is replaced by the environment variable NAME.
    std::string as_string() const;
    // The scalar as written, before substitution: what error messages quote, so a
    // misplaced ${SECRET} never ends up in a log.
    std::string raw() const;
    std::uint64_t as_uint(std::uint64_t min, std::uint64_t max) const;
    // A decimal number (integer or with a fraction) from min to max.
    double as_number(double min, double max) const;
    bool as_bool() const;
    std::chrono::milliseconds as_duration() const;
    std::size_t as_size() const;

private:
    YAML::Node node_;
    std::string key_;
    const std::string* source_;
    int line_;  // 1-based
};

// Replaces every ${NAME}; calls `fail` naming the first unset variable.
std::string substitute_env(std::string_view text,
                           const std::function<void(const std::string&)>& fail);

}  // namespace llmgw::config
