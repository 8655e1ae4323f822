// ConcurrencySlot: giving a slot back once, whoever ends the request.
#include "llmgw/limits/concurrency_slot.hpp"

#include <utility>

namespace llmgw::limits {

ConcurrencySlot& ConcurrencySlot::operator=(ConcurrencySlot&& other) noexcept {
    if (this == &other) return *this;
    release();
    keeper_ = std::move(other.keeper_);
    consumer_ = std::move(other.consumer_);
    ticket_ = other.ticket_;
    held_ = std::exchange(other.held_, false);
    return *this;
}

void ConcurrencySlot::release() noexcept {
    if (!std::exchange(held_, false)) return;
    if (const auto keeper = keeper_.lock()) keeper->give_back(consumer_, ticket_);
    keeper_.reset();
}

}  // namespace llmgw::limits
