// Per-thread handles of a metric family's children, found by label value without a lock or an
// allocation once seen (prometheus-cpp's Family::Add locks, builds a label map and hashes it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llmgw::observability {

// An id per metrics object, never reused (an address can be, after a reload or in tests): a
// thread's cache filled for one object is dropped when it serves another.
inline std::uint64_t next_metrics_owner() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

// Keyed by one label value (a tier or consumer name: bounded by config). Use one per call site,
// as a thread_local: `Handle` is what that site needs (a counter pointer, or a pair of them).
template <typename Handle>
class HandleCache {
public:
    template <typename Make>
    Handle& get(std::uint64_t owner, std::string_view key, Make&& make) {
        if (owner != owner_) {
            handles_.clear();
            owner_ = owner;
        }
        auto it = handles_.find(key);
        if (it == handles_.end()) it = handles_.emplace(std::string(key), make()).first;
        return it->second;
    }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const {
            return std::hash<std::string_view>{}(text);
        }
    };
    std::uint64_t owner_ = 0;
    std::unordered_map<std::string, Handle, Hash, std::equal_to<>> handles_;
};

}  // namespace llmgw::observability
