// The usage ledger's rows not yet written: aggregated in memory by account × day × model,
// taken whole by each flush; what the database refused waits apart for the next one. Bounded: a row beyond max_rows is dropped and counted, so a
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
    // Everything not yet written (the flush's thread only).
    Batch take();
    // A batch the database refused comes back (and is counted as dropped beyond the bound).
    // It waits apart from what the workers add: merging it back under their lock would stop
    // every worker for as long as the merge takes (100 ms for 100,000 rows).
    void put_back(Batch batch);

    // The rows of `query` not yet written, for reports that include them.
    std::vector<LedgerRow> pending(const LedgerQuery& query) const;
    std::size_t rows() const;
    // Requests dropped because the buffer was full.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    // Ordered by day, account, model; found by views of a row's fields (std::less<>), so the
    // request path builds no key, and copies the strings only for a row that is new.
    using Key = std::tuple<std::string, std::string, std::string>;
    using KeyView = std::tuple<std::string_view, std::string_view, std::string_view>;
    using KeyUsed = std::tuple<std::string, std::string>;  // key id, day
    struct Rows {
        std::map<Key, LedgerRow, std::less<>> rows;
        std::set<KeyUsed, std::less<>> keys_used;
    };
    void merge(Rows& into, const LedgerRow& row);
    void merge(Rows& into, Rows&& from);
    static void collect(const Rows& from, const LedgerQuery& query, std::vector<LedgerRow>& out);

    const std::size_t max_rows_;
    mutable std::mutex mutex_;  // the workers' lock: held only for one request's row
    Rows incoming_;
    mutable std::mutex held_mutex_;  // the flush's thread and readers, never a worker
    Rows held_;                      // what the database refused, waiting for the next flush
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace llmgw::store
