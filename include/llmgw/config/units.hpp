// Parsers for the config's duration ("250ms", "10s") and size ("16KiB") strings.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace llmgw::config {

// Units: ms, s, m, h, d. A unit is required; the value is a non-negative integer.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// Plain bytes ("1024") or with KiB / MiB / GiB (also "B").
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace llmgw::config
