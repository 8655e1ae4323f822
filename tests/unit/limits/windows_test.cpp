// The UTC calendar windows of quotas: days from midnight, months from the 1st.
#include <gtest/gtest.h>

#include <chrono>

#include "llmgw/limits/limiter.hpp"

using namespace std::chrono;
using llmgw::config::Limit;
using llmgw::limits::Clock;
using llmgw::limits::window_end;
using llmgw::limits::window_start;

namespace {

Clock::time_point at(year_month_day date, Clock::duration time_of_day = {}) {
    return Clock::time_point(sys_days(date)) + time_of_day;
}

}  // namespace

TEST(WindowDay, RunsFromUtcMidnightToTheNext) {
    const auto noon = at(2024y / March / 10, 12h);
    EXPECT_EQ(window_start(Limit::Window::day, noon), at(2024y / March / 10));
    EXPECT_EQ(window_end(Limit::Window::day, noon), at(2024y / March / 11));
}

TEST(WindowDay, MidnightBelongsToTheNewDay) {
    const auto midnight = at(2024y / March / 11);
    EXPECT_EQ(window_start(Limit::Window::day, midnight), midnight);
    EXPECT_EQ(window_end(Limit::Window::day, midnight - 1ns), midnight);
    EXPECT_EQ(window_start(Limit::Window::day, midnight - 1ns), at(2024y / March / 10));
}

TEST(WindowDay, RoundsDownBeforeTheEpochToo) {
    EXPECT_EQ(window_start(Limit::Window::day, at(1969y / December / 31, 12h)),
              at(1969y / December / 31));
}

TEST(WindowMonth, RunsFromTheFirstToTheFirstOfTheNextMonth) {
    const auto mid_month = at(2024y / March / 15, 8h);
    EXPECT_EQ(window_start(Limit::Window::month, mid_month), at(2024y / March / 1));
    EXPECT_EQ(window_end(Limit::Window::month, mid_month), at(2024y / April / 1));
}

TEST(WindowMonth, FebruaryEndsAfterThe28thOrInALeapYearThe29th) {
    EXPECT_EQ(window_end(Limit::Window::month, at(2023y / February / 28, 23h)),
              at(2023y / March / 1));
    EXPECT_EQ(window_end(Limit::Window::month, at(2024y / February / 28, 23h)),
              at(2024y / March / 1));
    EXPECT_EQ(window_start(Limit::Window::month, at(2024y / February / 29, 23h)),
              at(2024y / February / 1));
    EXPECT_EQ(window_start(Limit::Window::month, at(2024y / March / 1)), at(2024y / March / 1));
}

TEST(WindowMonth, DecemberEndsWithTheNewYear) {
    const auto new_years_eve = at(2024y / December / 31, 23h + 59min + 59s);
    EXPECT_EQ(window_start(Limit::Window::month, new_years_eve), at(2024y / December / 1));
    EXPECT_EQ(window_end(Limit::Window::month, new_years_eve), at(2025y / January / 1));
    EXPECT_EQ(window_end(Limit::Window::day, new_years_eve), at(2025y / January / 1));
}
