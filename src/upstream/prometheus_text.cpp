// The Prometheus text format, read line by line without copying the body.
#include "llmgw/upstream/prometheus_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace llmgw::upstream {

namespace {

bool name_char(char c, bool first) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || c == ':' || (!first && std::isdigit(u));
}

void skip_blanks(std::string_view text, std::size_t& at) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
}

// A quoted label value from `at` (just past the opening quote) to past its closing quote;
// the unescaped text goes to `out` when given. False when the quote never closes.
bool read_quoted(std::string_view text, std::size_t& at, std::string* out) {
    while (at < text.size()) {
        const char c = text[at++];
        if (c == '"') return true;
        if (c == '\\' && at < text.size()) {
            const char escaped = text[at++];
            if (out) out->push_back(escaped == 'n' ? '\n' : escaped);
        } else if (out) {
            out->push_back(c);
        }
    }
    return false;
}

// The end of the label block starting at `at` (just past '{'), past its '}'; npos if malformed.
std::size_t label_block_end(std::string_view line, std::size_t at) {
    while (at < line.size()) {
        const char c = line[at++];
        if (c == '}') return at;
        if (c == '"' && !read_quoted(line, at, nullptr)) return std::string_view::npos;
    }
    return std::string_view::npos;
}

std::optional<double> parse_value(std::string_view text) {
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<PrometheusSample> read_line(std::string_view line) {
    std::size_t at = 0;
    skip_blanks(line, at);
    const auto name_start = at;
    while (at < line.size() && name_char(line[at], at == name_start)) ++at;
    if (at == name_start) return std::nullopt;
    PrometheusSample sample;
    sample.name = line.substr(name_start, at - name_start);
    if (at < line.size() && line[at] == '{') {
        const auto end = label_block_end(line, at + 1);
        if (end == std::string_view::npos) return std::nullopt;
        sample.labels = line.substr(at + 1, end - at - 2);
        at = end;
    }
    skip_blanks(line, at);
    auto value_end = at;
    while (value_end < line.size() && line[value_end] != ' ' && line[value_end] != '\t')
        ++value_end;
    const auto value = parse_value(line.substr(at, value_end - at));
    if (!value) return std::nullopt;  // a timestamp after the value is allowed and ignored
    sample.value = *value;
    return sample;
}

}  // namespace

std::size_t read_prometheus_text(std::string_view text,
                                 const std::function<void(const PrometheusSample&)>& each) {
    std::size_t count = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        auto line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (const auto sample = read_line(line)) {
            each(*sample);
            ++count;
        }
    }
    return count;
}

std::optional<std::string> label_value(std::string_view labels, std::string_view name) {
    std::size_t at = 0;
    while (at < labels.size()) {
        skip_blanks(labels, at);
        const auto start = at;
        while (at < labels.size() && labels[at] != '=' && labels[at] != ' ') ++at;
        const auto key = labels.substr(start, at - start);
        skip_blanks(labels, at);
        if (at + 1 >= labels.size() || labels[at] != '=' || labels[at + 1] != '"')
            return std::nullopt;
        at += 2;
        std::string value;
        if (!read_quoted(labels, at, key == name ? &value : nullptr)) return std::nullopt;
        if (key == name) return value;
        skip_blanks(labels, at);
        if (at < labels.size() && labels[at] == ',') ++at;
    }
    return std::nullopt;
}

}  // namespace llmgw::upstream
