// RedisLimiter: builds the keys and arguments of the limit scripts and reads their replies.
#include "llmgw/limits/redis_limiter.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "limit_scripts.hpp"
#include "llmgw/limits/redis_usage.hpp"

namespace llmgw::limits {

namespace {

using config::Limit;

// The script's grant modes.
constexpr std::uint64_t no_grant = 0;
constexpr std::uint64_t grant_with_request = 1;
constexpr std::uint64_t grant_only = 2;

// Amounts are clamped to what a Lua number (a double) holds exactly.
constexpr std::uint64_t max_exact = (std::uint64_t{1} << 53) - 1;

std::string exact(std::uint64_t n) { return std::to_string(std::min(n, max_exact)); }

// %-escapes every byte but a few safe ones, so ':' and '{' '}' in a name cannot collide or
// break the hash tag; the result is still readable for the usual names.
std::string escape(const std::string& name) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        const bool safe = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                          (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' || c == '@';
        if (safe) {
            out += c;
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
    return out;
}

bool counts_requests(const Limit& limit) { return limit.unit == Limit::Unit::requests; }

const char* unit_name(const Limit& limit) {
    switch (limit.unit) {
        case Limit::Unit::tokens: return "tokens";
        case Limit::Unit::cost: return "cost";
        default: return "requests";
    }
}

// The limit's code in the scripts: kind then unit (limit_scripts.hpp).
const char* code(const Limit& limit) {
    const bool rate = limit.kind == Limit::Kind::rate;
    switch (limit.unit) {
        case Limit::Unit::tokens: return rate ? "rt" : "qt";
        case Limit::Unit::cost: return rate ? "rc" : "qc";
        default: return rate ? "rr" : "qr";
    }
}

// What LocalLimiter calls the same shape: the state keeps its meaning when amount or burst change.
std::string shape(const Limit& limit) {
    std::string out = unit_name(limit);
    if (limit.kind == Limit::Kind::rate) return out + ".rate." + std::to_string(limit.period.count()) + "ms";
    return out + ".quota." + (limit.window == Limit::Window::day ? "day" : "month");
}

// Numbers travel to and from the batch script as little-endian IEEE doubles (struct.pack and
// struct.unpack's "<d"): no text to write or parse per number.
void pack_double(std::string& out, double value) {
    auto bits = std::bit_cast<std::uint64_t>(value);
    if constexpr (std::endian::native == std::endian::big) bits = __builtin_bswap64(bits);
    char bytes[8];
    std::memcpy(bytes, &bits, sizeof bytes);  // 8 bytes at once, not a character at a time
    out.append(bytes, sizeof bytes);
}

// Overwrites the double packed at `at`.
void put_double(std::string& out, std::size_t at, double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    for (int i = 0; i < 8; ++i) out[at + i] = static_cast<char>((bits >> (8 * i)) & 0xff);
}

// A whole number, clamped to what a double holds exactly (2^53 - 1).
void pack_number(std::string& out, std::uint64_t n) { pack_double(out, static_cast<double>(std::min(n, max_exact))); }

// A string as struct.unpack's "<i4c0" reads it: its length in 4 little-endian bytes, then it.
void pack_text(std::string& out, std::string_view text) {
    const auto size = static_cast<std::uint32_t>(text.size());
    for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((size >> shift) & 0xff);
    out += text;
}

// An argument, into a list of them or straight into the wire form.
void put(std::vector<std::string>& args, std::string_view text) { args.emplace_back(text); }
void put(redis::Arguments& args, std::string_view text) { args.add(text); }

// Limit `index` of `tier` as the scripts read it, one argument (see limit_scripts.hpp).
template <typename Args>
void append_args(Args& args, const config::Tier& tier, std::size_t index) {
    const auto& limit = tier.limits.at(index);
    const bool rate = limit.kind == Limit::Kind::rate;
    std::string packed = code(limit);
    // As the text they were sent as before, read by Lua's tonumber: the nearest double.
    pack_double(packed, static_cast<double>(limit.amount));
    if (rate) {
        pack_double(packed, static_cast<double>(limit.period.count()));
        pack_double(packed, static_cast<double>(limit.burst != 0 ? limit.burst : limit.amount));
    } else {
        pack_double(packed, limit.window == Limit::Window::day ? 1 : 2);
        pack_double(packed, 0);
    }
    pack_text(packed, RedisLimiter::field(tier, index));
    put(args, packed);
}

std::uint64_t as_count(double n) { return n > 0 ? static_cast<std::uint64_t>(n) : 0; }

// An answer's numbers (limit_scripts.hpp), each 8 bytes; empty when the reply has another
// shape or holds a number no long long holds (2^63 is the first double beyond).
std::vector<double> numbers_of(const redis::Reply& reply) {
    std::vector<double> numbers;
    if (!reply.is_string() || reply.str.size() % 8 != 0) return numbers;
    numbers.reserve(reply.str.size() / 8);
    const auto* bytes = reinterpret_cast<const unsigned char*>(reply.str.data());
    for (std::size_t at = 0; at < reply.str.size(); at += 8) {
        std::uint64_t bits = 0;
        for (int i = 7; i >= 0; --i) bits = (bits << 8) | bytes[at + static_cast<std::size_t>(i)];
        const auto n = std::bit_cast<double>(bits);
        if (!(n > -9.2233720368547758e18 && n < 9.2233720368547758e18)) return {};
        numbers.push_back(n);
    }
    return numbers;
}

// Where a limit stands from what the script answers, a bucket's level or a quota's count
// after the admission, at `now_us` (Redis's clock): the arithmetic the script did before, in
// the same doubles and order (LocalLimiter's rounding): remaining whole units, clamped to
// 2^53 - 1; reset the whole seconds until a bucket is full (a rounding error of up to 1 µs
// adds no second) or the quota's UTC window ends.
LimitState state_of(const Limit& limit, double value, double now_us) {
    constexpr double eps = 1e-9, max_int = 9007199254740991.0, max_wait = 1e12;
    LimitState state;
    state.limit = &limit;
    if (limit.kind == Limit::Kind::rate) {
        if (value > 0) state.remaining = static_cast<std::uint64_t>(std::min(std::floor(value + eps), max_int));
        const double amount = std::max(static_cast<double>(limit.amount), 1.0);
        const double period = std::max(static_cast<double>(limit.period.count()) / 1000, 1e-3);
        const double capacity = static_cast<double>(limit.burst != 0 ? limit.burst : limit.amount);
        const double to_full = (capacity - value) * period / amount - 1e-6;
        state.reset = std::chrono::seconds(static_cast<long long>(std::ceil(std::clamp(to_full, 0.0, max_wait))));
        return state;
    }
    state.remaining = as_count(std::min(static_cast<double>(limit.amount) - value, max_int));
    const auto now = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::microseconds(static_cast<long long>(now_us))));
    const auto stop = std::chrono::duration_cast<std::chrono::seconds>(window_end(limit.window, now).time_since_epoch());
    const double until = std::ceil((static_cast<double>(stop.count()) * 1e6 - now_us) / 1e6);
    state.reset = std::chrono::seconds(until > 0 ? static_cast<long long>(until) : 0);
    return state;
}

// One admission's answer as a Decision; nullopt when it has another shape. Its numbers:
// admitted, the refusing limit, retry_after, then each limit's level or count.
std::optional<Decision> to_decision(std::span<const double> e, const config::Tier& tier, double now_us) {
    const auto count = tier.limits.size();
    if (e.size() < 3 + count) return std::nullopt;
    Decision decision;
    decision.admitted = e[0] == 1;
    const auto refused = static_cast<long long>(e[1]);  // -1: the concurrency cap
    if (decision.admitted != (refused == 0) || refused < -1 || refused > static_cast<long long>(count))
        return std::nullopt;
    if (!decision.admitted) {
        decision.over_concurrency = refused == -1;
        if (refused > 0) decision.refused_by = &tier.limits[static_cast<std::size_t>(refused) - 1];
        decision.retry_after = std::chrono::seconds(std::max<long long>(static_cast<long long>(e[2]), 1));
    }
    decision.states.reserve(count);
    for (std::size_t i = 0; i < count; ++i) decision.states.push_back(state_of(tier.limits[i], e[3 + i], now_us));
    return decision;
}

}  // namespace

RedisLimiter::RedisLimiter(redis::Client& client, std::string key_prefix)
    : client_(client), prefix_(std::move(key_prefix)) {}

std::string RedisLimiter::key(const std::string& consumer, const config::Tier& tier) const {
    return prefix_ + "rl:{" + escape(consumer) + "}:" + escape(tier.name);
}

std::string RedisLimiter::field(const config::Tier& tier, std::size_t index) {
    return std::to_string(index) + ":" + shape(tier.limits.at(index));
}

std::string RedisLimiter::concurrency_key(const std::string& consumer) const {
    return prefix_ + "cc:{" + escape(consumer) + "}";
}

namespace {
void add_all(redis::Arguments& to, const std::vector<std::string>& from) {
    for (const auto& arg : from) to.add(arg);
}
}  // namespace

const redis::Arguments& RedisLimiter::tier_arguments(const config::Tier& tier) const {
    // Tiers replaced by reloads leave entries behind: a bound keeps them few.
    if (tier_arguments_.size() > 256 && !tier_arguments_.contains(&tier)) tier_arguments_.clear();
    auto& held = tier_arguments_[&tier];
    if (held.made && held.limits == tier.limits) return held.args;
    held.made = true;
    held.limits = tier.limits;
    held.args.clear();
    held.args.add(std::uint64_t{tier.limits.size()});
    for (std::size_t i = 0; i < tier.limits.size(); ++i) append_args(held.args, tier, i);
    return held.args;
}

// A template, not a std::function: its lambda's captures would be allocated on every request.
template <typename Make>
const std::string& RedisLimiter::remember(MadeKey& made, const std::string& consumer,
                                          const std::string& other, Make make) const {
    if (made.key.empty() || made.consumer != consumer || made.other != other) {
        made.consumer = consumer;
        made.other = other;
        made.key = make();
    }
    return made.key;
}

// The settle of `hash` reserved in second `at`: the one queued last, most often, else found by
// its index or added.
RedisLimiter::Backlog::Settle& RedisLimiter::settle_entry(Backlog& backlog, const std::string& hash,
                                                          std::uint64_t at, const config::Tier& tier,
                                                          std::size_t metered) const {
    auto& settles = backlog.settles;
    if (!settles.empty() && settles.back().reserved_at == at && settles.back().key == hash)
        return settles.back();
    auto [found, added] =
        backlog.settle_index.try_emplace(hash + '\n' + std::to_string(at), settles.size());
    if (added) {
        auto& settle = settles.emplace_back();
        settle.key = hash;
        settle.reserved_at = at;
        settle.limits = metered;
        for (std::size_t i = 0; i < tier.limits.size(); ++i)
            if (!counts_requests(tier.limits[i])) append_args(settle.limit_args, tier, i);
    }
    return settles[found->second];
}

void RedisLimiter::queue_settle(Backlog& backlog, const std::string& consumer,
                                const config::Tier& tier, const Charge& reserved,
                                const Charge& actual, Clock::time_point reserved_at) const {
    if (reserved == actual) return;
    const auto metered = static_cast<std::size_t>(
        std::count_if(tier.limits.begin(), tier.limits.end(), [](const Limit& limit) { return !counts_requests(limit); }));
    if (metered == 0) return;
    const auto at = static_cast<std::uint64_t>(std::max<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(reserved_at.time_since_epoch()).count(), 0));
    const auto& hash = remember(last_hash_, consumer, tier.name, [&] { return key(consumer, tier); });
    auto& settle = settle_entry(backlog, hash, at, tier, metered);
    settle.reserved_tokens += reserved.tokens;
    settle.reserved_cost += reserved.cost;
    settle.used_tokens += actual.tokens;
    settle.used_cost += actual.cost;
}

void RedisLimiter::queue_usage(Backlog& backlog, const std::string& consumer,
                               const std::string& day, const UsageRecord& record) const {
    const auto& key_of = remember(last_usage_, consumer, day,
                                  [&] { return usage_key(prefix_, consumer, day); });
    // The one queued last, most often: found without the index.
    if (!backlog.usages.empty() && backlog.usages.back().key == key_of) {
        backlog.usages.back().totals.add(record);
        return;
    }
    auto [found, added] = backlog.usage_index.try_emplace(key_of, backlog.usages.size());
    if (added) backlog.usages.push_back({key_of, {}});
    backlog.usages[found->second].totals.add(record);
}

void RedisLimiter::queue_release(Backlog& backlog, const std::string& key,
                                 const std::string& member) const {
    backlog.lease_keys.push_back(key);
    backlog.lease_args.insert(backlog.lease_args.end(), {"release", member, "0"});
    ++backlog.leases;
}

void RedisLimiter::queue_renew(Backlog& backlog, const std::string& key, const std::string& member,
                               std::chrono::milliseconds lease) const {
    backlog.lease_keys.push_back(key);
    backlog.lease_args.insert(backlog.lease_args.end(),
                              {"renew", member, std::to_string(lease.count())});
    ++backlog.leases;
}

void RedisLimiter::queue_return(Backlog& backlog, const std::string& consumer,
                                const config::Tier& tier, std::size_t index, std::uint64_t amount,
                                Clock::time_point granted_at) const {
    if (amount == 0) return;
    const auto at = std::chrono::duration_cast<std::chrono::seconds>(granted_at.time_since_epoch());
    backlog.return_keys.push_back(key(consumer, tier));
    append_args(backlog.return_args, tier, index);
    backlog.return_args.push_back(exact(amount));
    backlog.return_args.push_back(std::to_string(std::max<long long>(at.count(), 0)));
    ++backlog.returns;
}

// The batch script's arguments: the counts, the carried operations, then `admissions`
// admissions' `keys` and `args` (limit_scripts.hpp).
redis::Task<std::optional<redis::Reply>> RedisLimiter::call(const Backlog& carried,
                                                            Admissions admissions) {
    redis::Arguments keys, args;
    for (const std::uint64_t n : {carried.settles.size(), carried.usages.size(), carried.leases,
                                  carried.returns, admissions.count, admissions.tiers.size()})
        args.add(n);
    for (const auto* tier : admissions.tiers) args.append(tier_arguments(*tier));
    for (const auto& settle : carried.settles) {
        keys.add(settle.key);
        for (const auto n : {std::uint64_t{settle.limits}, settle.reserved_tokens,
                             settle.reserved_cost, settle.used_tokens, settle.used_cost,
                             settle.reserved_at})
            args.add(std::min(n, max_exact));
        add_all(args, settle.limit_args);
    }
    for (const auto& usage : carried.usages) {
        keys.add(usage.key);
        const auto& t = usage.totals;
        for (const auto n : {t.requests, t.prompt_tokens, t.completion_tokens, t.estimated_requests,
                             t.cached, t.cost, static_cast<std::uint64_t>(usage_ttl_seconds)})
            args.add(std::min(n, max_exact));
    }
    add_all(keys, carried.lease_keys);
    add_all(keys, carried.return_keys);
    keys.append(admissions.keys);
    add_all(args, carried.lease_args);
    add_all(args, carried.return_args);
    if (admissions.count > 0) args.add(admissions.packed);
    auto result = co_await client_.eval(detail::batch_script(), keys, args);
    if (!result) co_return std::nullopt;
    co_return std::move(*result);
}

// The same ask as the last one packed in full (same consumer, tier and reservation, no cap, no
// slices), found without looking its tier and hash up again: packed as one more repeat.
bool RedisLimiter::repeat_last(const Ask& ask, Admissions& admissions) const {
    const auto& last = admissions.repeatable;
    if (!last || admissions.repeat_tier != ask.tier || ask.lease->cap != 0 || ask.slices != nullptr ||
        (*last)[2] != ask.reserve.tokens || (*last)[3] != ask.reserve.cost ||
        *admissions.repeat_consumer != *ask.consumer)
        return false;
    ++admissions.count;
    auto& out = admissions.packed;
    if (!admissions.run_at) {
        admissions.run_at = out.size();
        admissions.run = 0;
        pack_double(out, 0);
    }
    ++admissions.run;
    put_double(out, *admissions.run_at, -static_cast<double>(admissions.run));
    return true;
}

bool RedisLimiter::append_admission(const Ask& ask, Admissions& admissions) const {
    if (repeat_last(ask, admissions)) return true;
    const auto& tier = *ask.tier;
    const auto& lease = *ask.lease;
    const auto mode = ask.slices == nullptr ? no_grant
                      : ask.slices->with_request ? grant_with_request
                                                 : grant_only;
    // The tier's limits go once per call; the admission names them by position (1-based).
    std::size_t tier_number = 0;
    if (!tier.limits.empty()) {
        auto& tiers = admissions.tiers;
        tier_number = static_cast<std::size_t>(std::find(tiers.begin(), tiers.end(), &tier) - tiers.begin()) + 1;
        if (tier_number > tiers.size()) tiers.push_back(&tier);
    }
    // Each key goes once per call; an admission names its keys by position (1-based, 0: none).
    const auto key_number = [&admissions](const std::string& key) {
        auto [found, added] = admissions.key_numbers.try_emplace(key, admissions.key_numbers.size() + 1);
        if (added) admissions.keys.add(key);
        return found->second;
    };
    std::uint64_t hash_number = 0, lease_number = 0;
    if (!tier.limits.empty())
        hash_number = key_number(remember(last_hash_, *ask.consumer, tier.name, [&] { return key(*ask.consumer, tier); }));
    if (lease.cap != 0) lease_number = key_number(lease.key);
    auto& out = admissions.packed;
    ++admissions.count;
    // A busy consumer's requests follow each other with the same ask: said once, then repeated
    // (repeat_last).
    const bool plain = tier_number != 0 && lease.cap == 0 && ask.slices == nullptr;
    const std::array<std::uint64_t, 4> asked{tier_number, hash_number, ask.reserve.tokens, ask.reserve.cost};
    admissions.run_at.reset();
    admissions.repeatable.reset();
    if (plain) {
        admissions.repeatable = asked;
        admissions.repeat_tier = &tier;
        admissions.repeat_consumer = ask.consumer;
    }
    for (const std::uint64_t n : {std::uint64_t{tier_number}, ask.reserve.tokens, ask.reserve.cost,
                                  std::uint64_t{lease.cap},
                                  static_cast<std::uint64_t>(std::max<long long>(lease.duration.count(), 0)),
                                  mode, hash_number, lease_number})
        pack_number(out, n);
    pack_text(out, lease.member);
    if (ask.slices != nullptr) {
        ask.slices->want.resize(tier.limits.size());
        for (const auto want : ask.slices->want) pack_number(out, want);
    }
    return false;
}

namespace {
// How many numbers an admission's answer has: 3, one per limit, and with a grant mode one more
// per limit.
std::size_t answer_size(const RedisLimiter::Ask& ask) {
    const auto count = ask.tier->limits.size();
    return 3 + count + (ask.slices == nullptr ? 0 : count);
}

// One admission's answer, read into its Ask (and its slices' grants).
void read_answer(std::span<const double> answer, double now_us, RedisLimiter::Ask& ask) {
    const auto count = ask.tier->limits.size();
    auto* slices = ask.slices;
    ask.decision = to_decision(answer, *ask.tier, now_us);
    if (!ask.decision || slices == nullptr) return;
    slices->granted.clear();
    for (std::size_t i = 0; i < count; ++i)
        slices->granted.push_back(std::min(as_count(answer[3 + count + i]), slices->want[i]));
}

// What an admitted request takes from each limit, as the script takes it (admit_run): a run's
// admitted answers are worked out from the answer before them, step for step (the same double
// arithmetic in the same order). `answer`: 3 numbers, then each limit's level or count.
void take_again(std::vector<double>& answer, const RedisLimiter::Ask& ask) {
    const auto& limits = ask.tier->limits;
    answer[0] = 1;
    answer[1] = answer[2] = 0;
    for (std::size_t i = 0; i < limits.size(); ++i) {
        const auto& limit = limits[i];
        double amount = 1;
        if (!counts_requests(limit))
            amount = static_cast<double>(std::min(limit.unit == Limit::Unit::cost ? ask.reserve.cost : ask.reserve.tokens, max_exact));
        if (amount <= 0) continue;
        auto& value = answer[3 + i];
        if (limit.kind == Limit::Kind::rate) {
            value = value - amount;
            continue;
        }
        const double used = value + amount;  // saturates, as the script's
        value = used < 0 ? 0 : used > 9e18 ? 9e18 : used;
    }
}

// The answers of `sent` (`repeats`: which were packed as repeats) from `rest`, in order: an
// admission's, or a run's (how many it admitted, then the first refused one's answer, which
// the rest of the run share). False when the answer has another shape.
bool read_answers(std::span<const double> rest, double now_us, std::span<RedisLimiter::Ask* const> sent,
                  const std::vector<bool>& repeats) {
    std::vector<double> last;  // the answer before: a run goes on from its levels and counts
    for (std::size_t i = 0; i < sent.size();) {
        const auto size = answer_size(*sent[i]);
        if (!repeats[i]) {
            if (rest.size() < size) return false;
            read_answer(rest.first(size), now_us, *sent[i]);
            last.assign(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(size));
            rest = rest.subspan(size);
            ++i;
            continue;
        }
        std::size_t run = 1;
        while (i + run < sent.size() && repeats[i + run]) ++run;
        if (rest.empty() || last.size() != size) return false;
        const auto admitted = as_count(rest[0]);
        rest = rest.subspan(1);
        if (admitted > run) return false;
        for (std::size_t j = 0; j < admitted; ++j) {
            take_again(last, *sent[i + j]);
            read_answer(last, now_us, *sent[i + j]);
        }
        if (admitted < run) {
            if (rest.size() < size) return false;
            for (std::size_t j = admitted; j < run; ++j) read_answer(rest.first(size), now_us, *sent[i + j]);
            rest = rest.subspan(size);
        }
        i += run;
    }
    return rest.empty();
}
}  // namespace

redis::Task<bool> RedisLimiter::admit_all(const Backlog& carried, std::span<Ask* const> asks) {
    Admissions admissions;
    std::vector<Ask*> sent;
    sent.reserve(asks.size());
    std::vector<bool> repeats;
    for (auto* ask : asks) {
        ask->decision.reset();
        // Nothing to decide: admitted without asking.
        if (ask->tier->limits.empty() && ask->lease->cap == 0) {
            ask->decision = Decision{};
            continue;
        }
        repeats.push_back(append_admission(*ask, admissions));
        sent.push_back(ask);
    }
    if (sent.empty() && carried.empty()) co_return true;
    auto reply = co_await call(carried, std::move(admissions));
    if (!reply) co_return false;
    if (sent.empty()) co_return true;
    // Redis's clock, then every admission's answer, in order; answers of another shape leave
    // the decisions empty.
    const auto numbers = numbers_of(*reply);
    if (numbers.empty() ||
        !read_answers(std::span<const double>(numbers).subspan(1), numbers[0], sent, repeats)) {
        for (auto* ask : sent) ask->decision.reset();
        co_return false;
    }
    co_return true;
}

redis::Task<std::optional<Decision>> RedisLimiter::admit(const std::string& consumer,
                                                         const config::Tier& tier, const Charge& reserve,
                                                         const Backlog& carried, const Lease& lease,
                                                         Slices* slices) {
    Ask ask{&consumer, &tier, reserve, &lease, slices, std::nullopt};
    Ask* const one[] = {&ask};
    co_await admit_all(carried, one);
    co_return std::move(ask.decision);
}

redis::Task<std::optional<std::vector<LimitState>>> RedisLimiter::peek(
    const std::string& consumer, const config::Tier& tier) {
    if (tier.limits.empty()) co_return std::vector<LimitState>{};
    std::vector<std::string> keys{key(consumer, tier)};
    std::vector<std::string> args{std::to_string(tier.limits.size())};
    for (std::size_t i = 0; i < tier.limits.size(); ++i) append_args(args, tier, i);
    auto reply = co_await client_.eval(detail::peek_script(), std::move(keys), std::move(args));
    if (!reply) co_return std::nullopt;
    const auto numbers = numbers_of(*reply);
    if (numbers.size() != 1 + 3 + tier.limits.size()) co_return std::nullopt;
    auto decision = to_decision(std::span<const double>(numbers).subspan(1), tier, numbers[0]);
    if (!decision) co_return std::nullopt;
    co_return std::move(decision->states);
}

redis::Task<bool> RedisLimiter::flush(const Backlog& carried) {
    if (carried.empty()) co_return true;
    Admissions none;  // not a braced temporary: GCC 12 destroys those twice in co_await arguments
    auto reply = co_await call(carried, std::move(none));
    co_return reply.has_value();
}

redis::Task<std::optional<Decision>> RedisLimiter::admit(const std::string& consumer,
                                                         const config::Tier& tier) {
    const Charge nothing;
    const Backlog none;
    const ConcurrencyLease no_lease;
    auto decision = co_await admit(consumer, tier, nothing, none, no_lease);
    co_return decision;
}

redis::Task<bool> RedisLimiter::settle(const std::string& consumer, const config::Tier& tier,
                                       std::uint64_t tokens) {
    Backlog backlog;
    queue_settle(backlog, consumer, tier, Charge{}, Charge{tokens, 0}, Clock::now());
    const bool ok = co_await flush(backlog);
    co_return ok;
}

}  // namespace llmgw::limits
