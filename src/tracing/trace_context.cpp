// Parsing and writing traceparent, and the random ids of new traces and spans.
#include "llmgw/tracing/trace_context.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace llmgw::tracing {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is invalid in traceparent
}

template <std::size_t N>
bool read_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
    if (text.size() != 2 * N) return false;
    for (std::size_t i = 0; i < N; ++i) {
        const int high = hex_value(text[2 * i]);
        const int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return std::any_of(out.begin(), out.end(), [](std::uint8_t b) { return b != 0; });
}

// A per-thread xoshiro256** generator, seeded once from std::random_device: a few
// instructions a word (std::mt19937_64 regenerated its 312-word state every 312 words, and
// its thread_local object took a guarded initialisation on every use).
struct Generator {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type{0}; }
    result_type operator()();
};

struct GeneratorState {
    std::uint64_t s[4];
    bool seeded;
};
constinit thread_local GeneratorState generator_state{};

[[gnu::noinline]] void seed(GeneratorState& state) {
    std::random_device device;
    // splitmix64 spreads the seed over the four words (never all zero).
    std::uint64_t x = (std::uint64_t{device()} << 32) ^ device();
    for (auto& word : state.s) {
        x += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        word = z ^ (z >> 31);
    }
    state.seeded = true;
}

Generator::result_type Generator::operator()() {
    auto& state = generator_state;
    if (!state.seeded) [[unlikely]]
        seed(state);
    auto* s = state.s;
    const auto result = std::rotl(s[1] * 5, 7) * 9;
    const auto t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = std::rotl(s[3], 45);
    return result;
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& out) {
    static_assert(N % 8 == 0);
    Generator generator;
    for (;;) {
        std::uint64_t any = 0;
        for (std::size_t i = 0; i < N; i += 8) {
            const auto word = generator();
            std::memcpy(out.data() + i, &word, 8);
            any |= word;
        }
        if (any != 0) return;
    }
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view header) {
    // version "-" trace-id "-" parent-id "-" flags; later versions may append "-" fields.
    if (header.size() < traceparent_length) return std::nullopt;
    if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
    std::array<std::uint8_t, 1> version{};
    const auto version_text = header.substr(0, 2);
    if (hex_value(version_text[0]) < 0 || hex_value(version_text[1]) < 0) return std::nullopt;
    read_hex(version_text, version);
    if (version_text == "ff") return std::nullopt;
    if (version_text == "00" && header.size() != traceparent_length) return std::nullopt;
    if (header.size() > traceparent_length && header[traceparent_length] != '-')
        return std::nullopt;
    TraceContext context;
    std::array<std::uint8_t, 1> flags{};
    if (!read_hex(header.substr(3, 32), context.trace_id)) return std::nullopt;
    if (!read_hex(header.substr(36, 16), context.parent_id)) return std::nullopt;
    const auto flags_text = header.substr(53, 2);
    if (hex_value(flags_text[0]) < 0 || hex_value(flags_text[1]) < 0) return std::nullopt;
    read_hex(flags_text, flags);  // "00" reads as "all zero", still a valid value here
    context.sampled = (flags[0] & 1) != 0;
    return context;
}

void format_traceparent(const TraceId& trace, const SpanId& span, bool sampled,
                        std::array<char, traceparent_length>& out) {
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    to_hex(trace, &out[3]);
    out[35] = '-';
    to_hex(span, &out[36]);
    out[52] = '-';
    out[53] = '0';
    out[54] = sampled ? '1' : '0';
}

bool acceptable_tracestate(std::string_view header) {
    return header.size() <= 512 &&
           std::all_of(header.begin(), header.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

TraceId new_trace_id() {
    TraceId id;
    fill_random(id);
    return id;
}

SpanId new_span_id() {
    SpanId id;
    fill_random(id);
    return id;
}

bool should_sample(const std::optional<TraceContext>& parent, double ratio) {
    if (parent) return parent->sampled;
    if (ratio >= 1.0) return true;
    if (ratio <= 0.0) return false;
    Generator generator;
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator) < ratio;
}

}  // namespace llmgw::tracing
