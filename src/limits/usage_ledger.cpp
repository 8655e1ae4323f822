// The in-process usage ledger.
#include "llmgw/limits/usage_ledger.hpp"

#include <cstdio>

namespace llmgw::limits {

std::string UsageLedger::day_of(std::chrono::system_clock::time_point when) {
    // Every request asks, nearly always for the day asked last: that one is kept per thread.
    thread_local std::chrono::sys_days last_day{};
    thread_local std::string last_text;
    const auto day = std::chrono::floor<std::chrono::days>(when);
    if (day == last_day && !last_text.empty()) return last_text;
    const std::chrono::year_month_day date{day};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    last_day = day;
    last_text = buf;
    return last_text;
}

void UsageLedger::record(const std::string& consumer, std::chrono::system_clock::time_point when,
                         const UsageRecord& record) {
    const auto day = day_of(when);
    std::lock_guard lock(mutex_);
    if (last_usage_ != nullptr && consumer == last_consumer_ && day == last_day_) {
        last_usage_->add(record);
        return;
    }
    if (pruned_on_ != day) {
        // Once a day, the days older than kept_days go: the ledger stays bounded.
        pruned_on_ = day;
        const auto oldest = day_of(when - std::chrono::days(kept_days));
        std::erase_if(days_, [&](const auto& entry) { return entry.first.second < oldest; });
    }
    auto& usage = days_[{consumer, day}];
    usage.day = day;
    usage.add(record);
    // A map's entries stay put; they go only when pruned, above, and that is always followed
    // by this.
    last_consumer_ = consumer;
    last_day_ = day;
    last_usage_ = &usage;
}

void DayUsage::add(const UsageRecord& record) {
    ++requests;
    prompt_tokens += record.prompt_tokens;
    completion_tokens += record.completion_tokens;
    estimated_requests += record.estimated ? 1 : 0;
    cached += record.cached ? 1 : 0;
    cost += record.cost;
}

std::vector<DayUsage> UsageLedger::query(const std::string& consumer, const std::string& from,
                                         const std::string& to) const {
    std::vector<DayUsage> out;
    std::lock_guard lock(mutex_);
    // ISO dates sort as strings, so the map range is the date range.
    for (auto it = days_.lower_bound({consumer, from});
         it != days_.end() && it->first.first == consumer; ++it) {
        if (it->first.second > to) break;
        out.push_back(it->second);
    }
    return out;
}

}  // namespace llmgw::limits
