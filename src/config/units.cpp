// Parses durations and sizes written with units in the configuration file.
#include "llmgw/config/units.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace llmgw::config {
namespace {

// Splits "250ms" into 250 and "ms"; fails without leading digits or on overflow.
bool split_number(std::string_view text, std::uint64_t& number, std::string_view& unit) {
    auto* first = text.data();
    auto* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, number);
    if (ec != std::errc{} || end == first) return false;
    unit = std::string_view(end, static_cast<std::size_t>(last - end));
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    return true;
}

bool multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::uint64_t n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit)) return std::nullopt;
    std::uint64_t factor = 0;
    if (unit == "ms")
        factor = 1;
    else if (unit == "s")
        factor = 1000;
    else if (unit == "m")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    else if (unit == "d")
        factor = 86'400'000;
    else
        return std::nullopt;
    std::uint64_t ms = 0;
    if (!multiply(n, factor, ms) ||
        ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::optional<std::size_t> parse_size(std::string_view text) {
    std::uint64_t n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit)) return std::nullopt;
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "B")
        factor = 1;
    else if (unit == "KiB")
        factor = 1024;
    else if (unit == "MiB")
        factor = 1024 * 1024;
    else if (unit == "GiB")
        factor = 1024ull * 1024 * 1024;
    else
        return std::nullopt;
    std::uint64_t bytes = 0;
    if (!multiply(n, factor, bytes) || bytes > std::numeric_limits<std::size_t>::max())
        return std::nullopt;
    return static_cast<std::size_t>(bytes);
}

}  // namespace llmgw::config
