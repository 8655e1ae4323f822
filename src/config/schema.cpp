// The schema's shared pieces: redaction, paths, duration rules and enum name lists.
#include "schema.hpp"

namespace llmgw::config::schema {

json redact(json value) {
    if (value.is_string())
        return value.get_ref<const std::string&>().empty() ? json() : json("<redacted>");
    if (value.is_object())
        for (auto& [key, item] : value.items()) item = "<redacted>";
    return value;
}

std::string join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string format_duration(Duration d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

Rule<Duration> positive() {
    return [](const Duration& d) { return d.count() == 0 ? "must be greater than 0" : ""; };
}

Rule<Duration> at_least(Duration minimum) {
    return [minimum](const Duration& d) {
        return d < minimum ? "must be at least " + format_duration(minimum) : std::string();
    };
}

std::string list_names(const std::vector<std::string_view>& names, bool quoted) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
        out += quoted ? "\"" + std::string(names[i]) + "\"" : std::string(names[i]);
    }
    return out;
}

}  // namespace llmgw::config::schema
