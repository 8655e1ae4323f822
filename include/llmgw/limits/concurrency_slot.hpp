// One request's place among its consumer's requests in flight (tier max_concurrent), held
// until the request ends and then given back exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace llmgw::limits {

// Where a slot is given back: the in-process count, or a worker's Redis leases.
class SlotKeeper {
public:
    // `ticket` is what the keeper handed out with the slot (its own bookkeeping).
    virtual void give_back(const std::string& consumer, std::uint64_t ticket) noexcept = 0;

protected:
    ~SlotKeeper() = default;
};

// Move-only; empty by default. Destroying a held slot gives it back, so a request that ends
// any way (answered, refused later, client gone, cut at shutdown) frees its place. The keeper
// is held weakly: a slot that outlives it (a request frame destroyed after its worker at
// shutdown) gives nothing back, and a Redis lease then simply expires.
class ConcurrencySlot {
public:
    ConcurrencySlot() = default;
    ConcurrencySlot(std::weak_ptr<SlotKeeper> keeper, std::string consumer, std::uint64_t ticket)
        : keeper_(std::move(keeper)),
          consumer_(std::move(consumer)),
          ticket_(ticket),
          held_(true) {}
    ConcurrencySlot(ConcurrencySlot&& other) noexcept { *this = std::move(other); }
    ConcurrencySlot& operator=(ConcurrencySlot&& other) noexcept;
    ConcurrencySlot(const ConcurrencySlot&) = delete;
    ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
    ~ConcurrencySlot() { release(); }

    bool held() const { return held_; }
    // Gives the slot back now; later calls (and the destructor) do nothing.
    void release() noexcept;

private:
    std::weak_ptr<SlotKeeper> keeper_;
    std::string consumer_;
    std::uint64_t ticket_ = 0;
    bool held_ = false;
};

}  // namespace llmgw::limits
