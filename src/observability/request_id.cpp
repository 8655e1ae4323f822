// Validates client-supplied request ids and generates new ones.
#include "llmgw/observability/request_id.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>

namespace llmgw::observability {

bool is_sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    });
}

namespace {

// SplitMix64 over a per-thread counter seeded by the OS: ids are made on every worker without
// locking, and without the Mersenne Twister's 2.5 KB state and its refills (the old generator
// and a hex digit at a time cost about 400 instructions an id).
std::uint64_t next_random() {
    thread_local std::uint64_t state = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// "00" to "ff": two hex digits per byte.
constexpr auto hex_pairs = [] {
    std::array<char, 512> pairs{};
    constexpr char hex[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
        pairs[2 * i] = hex[i >> 4];
        pairs[2 * i + 1] = hex[i & 0xf];
    }
    return pairs;
}();

}  // namespace

std::string generate_request_id() {
    std::string id(32, '0');
    for (std::size_t half = 0; half < 2; ++half) {
        std::uint64_t bits = next_random();
        for (std::size_t i = 0; i < 8; ++i, bits >>= 8) {
            const auto byte = static_cast<std::size_t>(bits & 0xff);
            id[half * 16 + 2 * i] = hex_pairs[2 * byte];
            id[half * 16 + 2 * i + 1] = hex_pairs[2 * byte + 1];
        }
    }
    return id;
}

}  // namespace llmgw::observability
