// Per-consumer, per-UTC-day usage (requests, prompt and completion tokens, cached answers):
// what billing reads through GET /admin/usage.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace llmgw::limits {

// One answered request, as added to its consumer's day.
struct UsageRecord {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    bool estimated = false;
    bool cached = false;
    std::uint64_t cost = 0;  // nano-units
};

struct DayUsage {
    std::string day;  // YYYY-MM-DD (UTC)
    std::uint64_t requests = 0;
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t estimated_requests = 0;  // requests whose tokens were estimated
    std::uint64_t cached = 0;
    std::uint64_t cost = 0;  // nano-units of `prices`
    // Counts one more answered request.
    void add(const UsageRecord& record);
};


// In process, shared by all workers.
class UsageLedger {
public:
    void record(const std::string& consumer, std::chrono::system_clock::time_point when,
                const UsageRecord& usage);
    void record(const std::string& consumer, std::chrono::system_clock::time_point when,
                std::uint64_t prompt_tokens, std::uint64_t completion_tokens, bool estimated,
                bool cached) {
        record(consumer, when, UsageRecord{prompt_tokens, completion_tokens, estimated, cached, 0});
    }
    // Days from `from` to `to` (inclusive, YYYY-MM-DD) with any usage, in order.
    std::vector<DayUsage> query(const std::string& consumer, const std::string& from,
                                const std::string& to) const;

    static std::string day_of(std::chrono::system_clock::time_point when);
    // Days kept: as long as Redis keeps them (400), so reports agree whichever store they use.
    static constexpr int kept_days = 400;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, DayUsage> days_;  // (consumer, day)
    std::string pruned_on_;  // the day the ledger last dropped expired days
    // The entry recorded into last, and whose it is: the next request is nearly always of the
    // same consumer and day, found without building a key and walking the map.
    std::string last_consumer_, last_day_;
    DayUsage* last_usage_ = nullptr;
};

}  // namespace llmgw::limits
