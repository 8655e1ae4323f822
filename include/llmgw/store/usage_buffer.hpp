// The usage ledger's rows not yet written: aggregated in memory by account × day × model,
// taken whole by each flush. Bounded: a row beyond max_rows is dropped and counted, so a
// database that stays away never grows the process without end.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "llmgw/store/records.hpp"

namespace llmgw::store {

class UsageBuffer {
public:
    explicit UsageBuffer(std::size_t max_rows) : max_rows_(max_rows) {}

    // One answered request (any worker). `key_id` is the store key used, or empty.
    void add(const LedgerRow& usage, std::string_view key_id);

    struct Batch {
        std::vector<LedgerRow> rows;
        std::vector<std::pair<std::string, std::string>> keys_used;  // (key id, day)
        bool empty() const { return rows.empty() && keys_used.empty(); }
    };
    Batch take();
    // A batch the database refused comes back (and is counted as dropped beyond the bound).
    void put_back(Batch batch);

    // The rows of `query` not yet written, for reports that include them.
    std::vector<LedgerRow> pending(const LedgerQuery& query) const;
    std::size_t rows() const;
    // Requests dropped because the buffer was full.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    using Key = std::tuple<std::string, std::string, std::string>;  // day, account, model
    void merge_locked(const LedgerRow& row);

    const std::size_t max_rows_;
    mutable std::mutex mutex_;
    std::map<Key, LedgerRow> rows_;
    std::set<std::pair<std::string, std::string>> keys_used_;
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace llmgw::store
