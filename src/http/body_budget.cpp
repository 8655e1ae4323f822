// A lock-free shared counter: taking is all-or-nothing, so the sum never passes the limit.
#include "llmgw/http/body_budget.hpp"

namespace llmgw::http {

bool BodyBudget::take(std::size_t bytes) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
        if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
}

bool BodyBudget::Lease::grow_to(std::size_t bytes) {
    if (budget_ == nullptr || bytes <= bytes_) return true;
    if (!budget_->take(bytes - bytes_)) return false;
    bytes_ = bytes;
    return true;
}

}  // namespace llmgw::http
