// RedisLeases: naming, holding and giving back one worker's concurrency leases.
#include "llmgw/limits/redis_leases.hpp"

#include <cstdio>
#include <random>
#include <utility>

namespace llmgw::limits {

namespace {
std::string random_worker_id() {
    std::random_device device;
    const std::uint64_t high = device(), low = device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx",
                  static_cast<unsigned long long>((high << 32) ^ low));
    return text;
}
}  // namespace

RedisLeases::RedisLeases(std::function<void(const Lease&)> given_back)
    : given_back_(std::move(given_back)), worker_id_(random_worker_id()) {}

std::string RedisLeases::next_member() {
    return worker_id_ + ":" + std::to_string(++sequence_);
}

ConcurrencySlot RedisLeases::hold(const std::string& consumer, std::string key,
                                  std::string member) {
    const auto ticket = ++next_ticket_;
    held_.emplace(ticket, Lease{std::move(key), std::move(member)});
    return ConcurrencySlot(weak_from_this(), consumer, ticket);
}

void RedisLeases::for_each(const std::function<void(const Lease&)>& each) const {
    for (const auto& [ticket, lease] : held_) each(lease);
}

void RedisLeases::give_back(const std::string&, std::uint64_t ticket) noexcept {
    const auto it = held_.find(ticket);
    if (it == held_.end()) return;
    const auto lease = std::move(it->second);
    held_.erase(it);
    if (given_back_) given_back_(lease);
}

}  // namespace llmgw::limits
