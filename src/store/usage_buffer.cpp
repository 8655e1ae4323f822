// Aggregating the usage ledger in memory between flushes.
#include "llmgw/store/usage_buffer.hpp"

namespace llmgw::store {

void UsageBuffer::merge_locked(const LedgerRow& row) {
    auto it = rows_.find(Key{row.day, row.account, row.model});
    if (it == rows_.end()) {
        if (rows_.size() >= max_rows_) {
            dropped_.fetch_add(row.requests, std::memory_order_relaxed);
            return;
        }
        LedgerRow fresh;
        fresh.day = row.day;
        fresh.account = row.account;
        fresh.model = row.model;
        it = rows_.emplace(Key{row.day, row.account, row.model}, std::move(fresh)).first;
    }
    it->second.add(row);
}

void UsageBuffer::add(const LedgerRow& usage, std::string_view key_id) {
    std::lock_guard lock(mutex_);
    merge_locked(usage);
    if (!key_id.empty() && keys_used_.size() < max_rows_)
        keys_used_.emplace(std::string(key_id), usage.day);
}

UsageBuffer::Batch UsageBuffer::take() {
    std::map<Key, LedgerRow> rows;
    std::set<std::pair<std::string, std::string>> keys;
    {
        std::lock_guard lock(mutex_);
        rows.swap(rows_);
        keys.swap(keys_used_);
    }
    Batch batch;
    batch.rows.reserve(rows.size());
    for (auto& [key, row] : rows) batch.rows.push_back(std::move(row));
    batch.keys_used.assign(keys.begin(), keys.end());
    return batch;
}

void UsageBuffer::put_back(Batch batch) {
    std::lock_guard lock(mutex_);
    for (const auto& row : batch.rows) merge_locked(row);
    for (auto& used : batch.keys_used)
        if (keys_used_.size() < max_rows_) keys_used_.insert(std::move(used));
}

std::vector<LedgerRow> UsageBuffer::pending(const LedgerQuery& query) const {
    std::vector<LedgerRow> out;
    std::lock_guard lock(mutex_);
    for (auto it = rows_.lower_bound(Key{query.from, "", ""}); it != rows_.end(); ++it) {
        if (it->second.day > query.to) break;
        if (query.account.empty() || it->second.account == query.account) out.push_back(it->second);
    }
    return out;
}

std::size_t UsageBuffer::rows() const {
    std::lock_guard lock(mutex_);
    return rows_.size();
}

}  // namespace llmgw::store
