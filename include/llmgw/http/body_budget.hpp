// The memory all request bodies being read or held may take at once, across workers: without
// it, every open connection could make the gateway hold max_body_bytes.
#pragma once

#include <atomic>
#include <cstddef>

namespace llmgw::http {

class BodyBudget {
public:
    explicit BodyBudget(std::size_t limit) : limit_(limit) {}
    BodyBudget(const BodyBudget&) = delete;
    BodyBudget& operator=(const BodyBudget&) = delete;

    // The part of the budget one request holds; given back when it ends.
    class Lease {
    public:
        Lease() = default;
        explicit Lease(BodyBudget& budget) : budget_(&budget) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() {
            if (budget_ != nullptr) budget_->give_back(bytes_);
        }
        // Holds `bytes` in all, taking the difference; false (nothing taken) over the budget.
        bool grow_to(std::size_t bytes);
        std::size_t bytes() const { return bytes_; }

    private:
        BodyBudget* budget_ = nullptr;
        std::size_t bytes_ = 0;
    };

    std::size_t limit() const { return limit_; }
    std::size_t in_use() const { return used_.load(std::memory_order_relaxed); }

private:
    bool take(std::size_t bytes);
    void give_back(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

    const std::size_t limit_;
    std::atomic<std::size_t> used_{0};
};

}  // namespace llmgw::http
