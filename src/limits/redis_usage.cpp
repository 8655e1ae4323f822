// Usage hashes in Redis: one script call to add, HGETALL per day to read.
#include "llmgw/limits/redis_usage.hpp"

#include <chrono>
#include <cstdio>

#include "llmgw/redis/script.hpp"

namespace llmgw::limits {

namespace {

const redis::Script& record_script() {
    // KEYS[1] the day's hash; ARGV: prompt, completion, estimated (0/1), cached (0/1), ttl seconds.
    static const redis::Script script(R"lua(
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('HINCRBY', KEYS[1], 'prompt_tokens', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'completion_tokens', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'estimated_requests', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'cached', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
)lua");
    return script;
}

// Consumer names may hold any character: %-escape the ones that structure keys.
std::string escape(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c == '%' || c == ':' || c == '{' || c == '}' || c < 0x21 || c > 0x7e) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

std::optional<std::chrono::sys_days> parse_day(const std::string& text) {
    int y = 0;
    unsigned m = 0, d = 0;
    if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3)
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m),
                                           std::chrono::day(d)};
    if (!date.ok()) return std::nullopt;
    return std::chrono::sys_days(date);
}

}  // namespace

std::vector<std::string> days_between(const std::string& from, const std::string& to,
                                      std::size_t limit) {
    std::vector<std::string> days;
    const auto first = parse_day(from);
    const auto last = parse_day(to);
    if (!first || !last) return days;
    for (auto day = *first; day <= *last && days.size() < limit; day += std::chrono::days(1))
        days.push_back(UsageLedger::day_of(day));
    return days;
}

RedisUsage::RedisUsage(redis::Client& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {}

std::string usage_key(const std::string& prefix, const std::string& consumer, const std::string& day) {
    return prefix + "usage:{" + escape(consumer) + "}:" + day;
}

std::string RedisUsage::key(const std::string& consumer, const std::string& day) const {
    return usage_key(prefix_, consumer, day);
}

redis::Task<bool> RedisUsage::record(std::string consumer, std::string day,
                                     std::uint64_t prompt_tokens, std::uint64_t completion_tokens,
                                     bool estimated, bool cached) {
    std::vector<std::string> keys{key(consumer, day)};
    std::vector<std::string> args{std::to_string(prompt_tokens), std::to_string(completion_tokens),
                                  estimated ? "1" : "0", cached ? "1" : "0",
                                  std::to_string(usage_ttl_seconds)};
    const auto result = co_await client_.eval(record_script(), std::move(keys), std::move(args));
    co_return result.has_value();
}

redis::Task<std::optional<std::vector<DayUsage>>> RedisUsage::query(std::string consumer,
                                                                    std::string from,
                                                                    std::string to) {
    std::vector<DayUsage> out;
    for (const auto& day : days_between(from, to)) {
        std::vector<std::string> command{"HGETALL", key(consumer, day)};
        const auto result = co_await client_.command(std::move(command));
        if (!result) co_return std::nullopt;
        const auto& fields = result->elements;
        if (fields.empty()) continue;
        DayUsage usage;
        usage.day = day;
        for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
            const auto value = std::strtoull(fields[i + 1].str.c_str(), nullptr, 10);
            const auto& name = fields[i].str;
            if (name == "requests")
                usage.requests = value;
            else if (name == "prompt_tokens")
                usage.prompt_tokens = value;
            else if (name == "completion_tokens")
                usage.completion_tokens = value;
            else if (name == "estimated_requests")
                usage.estimated_requests = value;
            else if (name == "cached")
                usage.cached = value;
            else if (name == "cost_nano")
                usage.cost = value;
        }
        out.push_back(std::move(usage));
    }
    co_return out;
}

}  // namespace llmgw::limits
