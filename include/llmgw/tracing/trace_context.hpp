// W3C Trace Context: the traceparent header parsed and written, trace and span ids made.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmgw::tracing {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// What a traceparent says: whose trace, which span is the parent, and whether it is sampled.
struct TraceContext {
    TraceId trace_id{};
    SpanId parent_id{};
    bool sampled = false;
};

// A version-00 traceparent (a later version's first four fields, as the spec asks); nullopt
// for anything malformed: wrong lengths, upper-case or non-hex digits, all-zero ids,
// version ff.
std::optional<TraceContext> parse_traceparent(std::string_view header);

// "00-<trace>-<span>-<flags>": 55 characters, written into `out` (no allocation).
constexpr std::size_t traceparent_length = 55;
void format_traceparent(const TraceId& trace, const SpanId& span, bool sampled,
                        std::array<char, traceparent_length>& out);

// A tracestate worth passing on: at most 512 characters of printable ASCII (the list's
// members are not checked one by one: the gateway only carries it).
bool acceptable_tracestate(std::string_view header);

// Random, non-zero ids (a per-thread generator).
TraceId new_trace_id();
SpanId new_span_id();

// The two lower-case hex digits of each byte value.
struct HexPairs {
    char pairs[256][2];
    constexpr HexPairs() : pairs{} {
        constexpr char digits[] = "0123456789abcdef";
        for (int i = 0; i < 256; ++i) {
            pairs[i][0] = digits[i >> 4];
            pairs[i][1] = digits[i & 0xf];
        }
    }
};
inline constexpr HexPairs hex_pairs{};

// Lower-case hex of `bytes` into `out` (2 × N characters): a table look-up per byte.
template <std::size_t N>
void to_hex(const std::array<std::uint8_t, N>& bytes, char* out) {
    for (std::size_t i = 0; i < N; ++i) {
        const auto& pair = hex_pairs.pairs[bytes[i]];
        out[2 * i] = pair[0];
        out[2 * i + 1] = pair[1];
    }
}

// Parent-based sampling: a parent's decision is kept; a trace that starts here is kept with
// probability `ratio`.
bool should_sample(const std::optional<TraceContext>& parent, double ratio);

}  // namespace llmgw::tracing
