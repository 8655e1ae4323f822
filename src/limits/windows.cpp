// The UTC calendar windows that quotas count in: a day from midnight, a month from its 1st.
#include <chrono>

#include "llmgw/limits/limiter.hpp"

namespace llmgw::limits {

namespace {
using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;
using std::chrono::year_month_day;
}  // namespace

// system_clock counts UTC (leap seconds aside), so calendar arithmetic on sys_days needs no
// time zone database (which GCC 12 does not ship).
Clock::time_point window_start(config::Limit::Window window, Clock::time_point now) {
    const sys_days today = floor<days>(now);
    if (window == config::Limit::Window::day) return today;
    const year_month_day date{today};
    return sys_days{date.year() / date.month() / 1};
}

Clock::time_point window_end(config::Limit::Window window, Clock::time_point now) {
    const sys_days today = floor<days>(now);
    if (window == config::Limit::Window::day) return today + days{1};
    const year_month_day date{today};
    const auto next_month = date.year() / date.month() + std::chrono::months{1};
    return sys_days{next_month / 1};
}

}  // namespace llmgw::limits
