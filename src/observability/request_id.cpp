// Validates client-supplied request ids and generates new ones.
#include "llmgw/observability/request_id.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
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

// Sixteen hex digits of `bits`, eight bytes written at once: each nibble spread into a byte of
// its own, then made a digit (0-9 -> '0'-'9', 10-15 -> 'a'-'f') in all bytes together. An id's
// digits need no particular order, only every bit of the random number.
void write_hex16(std::uint64_t bits, char* out) {
    for (int half = 0; half < 2; ++half, bits >>= 32, out += 8) {
        std::uint64_t v = bits & 0xffffffffULL;
        v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
        v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
        v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
        // 1 in each byte whose nibble is 10 or more.
        const std::uint64_t letters = ((v + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
        v += 0x3030303030303030ULL + letters * static_cast<std::uint64_t>('a' - '0' - 10);
        std::memcpy(out, &v, sizeof v);
    }
}

}  // namespace

std::string generate_request_id() {
    std::string id(32, '0');
    write_hex16(next_random(), id.data());
    write_hex16(next_random(), id.data() + 16);
    return id;
}

}  // namespace llmgw::observability
