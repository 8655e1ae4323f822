// Reads the Prometheus text exposition format, the one thing every engine's /metrics speaks.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::upstream {

// One sample line: `name{labels} value [timestamp]`. `labels` is the raw text between the
// braces (empty without any); views into the body being read.
struct PrometheusSample {
    std::string_view name;
    std::string_view labels;
    double value = 0;
};

// Calls `each` for every well-formed sample of `text`, in order; comments, blank lines and
// malformed lines are skipped (an engine's odd line must not hide the others). Returns the
// number of samples read.
std::size_t read_prometheus_text(std::string_view text,
                                 const std::function<void(const PrometheusSample&)>& each);

// The value of label `name` in a sample's raw label text, unescaped; nullopt when absent
// or when the label text is malformed.
std::optional<std::string> label_value(std::string_view labels, std::string_view name);

}  // namespace llmgw::upstream
