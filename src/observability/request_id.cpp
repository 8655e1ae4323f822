// Validates client-supplied request ids and generates new ones.
#include "llmgw/observability/request_id.hpp"

#include <algorithm>
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

std::string generate_request_id() {
    // One generator per thread: ids are made on every worker without locking.
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t half = 0; half < 2; ++half) {
        std::uint64_t bits = generator();
        for (std::size_t i = 0; i < 16; ++i) {
            id[half * 16 + i] = hex[bits & 0xf];
            bits >>= 4;
        }
    }
    return id;
}

}  // namespace llmgw::observability
