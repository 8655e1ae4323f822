// Aggregating the usage ledger in memory between flushes.
#include "llmgw/store/usage_buffer.hpp"

namespace llmgw::store {

void UsageBuffer::merge(Rows& into, const LedgerRow& row) {
    auto it = into.rows.find(KeyView{row.day, row.account, row.model});
    if (it == into.rows.end()) {
        if (into.rows.size() >= max_rows_) {
            dropped_.fetch_add(row.requests, std::memory_order_relaxed);
            return;
        }
        LedgerRow fresh;
        fresh.day = row.day;
        fresh.account = row.account;
        fresh.model = row.model;
        it = into.rows.emplace(Key{row.day, row.account, row.model}, std::move(fresh)).first;
    }
    it->second.add(row);
}

void UsageBuffer::merge(Rows& into, Rows&& from) {
    if (into.rows.empty() && into.keys_used.empty()) {
        into = std::move(from);
        return;
    }
    for (const auto& [key, row] : from.rows) merge(into, row);
    for (auto& used : from.keys_used)
        if (into.keys_used.size() < max_rows_) into.keys_used.insert(used);
}

void UsageBuffer::add(const LedgerRow& usage, std::string_view key_id) {
    std::lock_guard lock(mutex_);
    merge(incoming_, usage);
    auto& used = incoming_.keys_used;
    if (key_id.empty() || used.size() >= max_rows_) return;
    if (used.find(std::tuple<std::string_view, std::string_view>{key_id, usage.day}) == used.end())
        used.emplace(std::string(key_id), usage.day);
}

UsageBuffer::Batch UsageBuffer::take() {
    Rows taken;
    {
        std::lock_guard lock(mutex_);
        std::swap(taken, incoming_);
    }
    {
        // What waited from a refused flush goes first, with the new rows merged into it.
        std::lock_guard lock(held_mutex_);
        merge(held_, std::move(taken));
        taken = std::move(held_);
        held_ = Rows{};
    }
    Batch batch;
    batch.rows.reserve(taken.rows.size());
    for (auto& [key, row] : taken.rows) batch.rows.push_back(std::move(row));
    batch.keys_used.reserve(taken.keys_used.size());
    for (const auto& [id, day] : taken.keys_used) batch.keys_used.emplace_back(id, day);
    return batch;
}

void UsageBuffer::put_back(Batch batch) {
    std::lock_guard lock(held_mutex_);
    for (const auto& row : batch.rows) merge(held_, row);
    for (auto& [id, day] : batch.keys_used)
        if (held_.keys_used.size() < max_rows_) held_.keys_used.emplace(std::move(id), std::move(day));
}

void UsageBuffer::collect(const Rows& from, const LedgerQuery& query, std::vector<LedgerRow>& out) {
    for (auto it = from.rows.lower_bound(KeyView{query.from, "", ""}); it != from.rows.end(); ++it) {
        if (it->second.day > query.to) break;
        if (query.account.empty() || it->second.account == query.account) out.push_back(it->second);
    }
}

std::vector<LedgerRow> UsageBuffer::pending(const LedgerQuery& query) const {
    // A row may be in both parts: the caller sums rows by day, account and model.
    std::vector<LedgerRow> out;
    {
        std::lock_guard lock(held_mutex_);
        collect(held_, query, out);
    }
    std::lock_guard lock(mutex_);
    collect(incoming_, query, out);
    return out;
}

std::size_t UsageBuffer::rows() const {
    std::size_t held = 0;
    {
        std::lock_guard lock(held_mutex_);
        held = held_.rows.size();
    }
    std::lock_guard lock(mutex_);
    return held + incoming_.rows.size();
}

}  // namespace llmgw::store
