// Splitting a limiter backlog by Cluster slot: settles, usage records, lease operations and
// returned slices each go with the slot of their keys.
#include "llmgw/limits/backlog_slots.hpp"

#include <iterator>
#include <map>

#include "llmgw/redis/cluster_slot.hpp"

namespace llmgw::limits {

namespace {

using Backlog = RedisLimiter::Backlog;

// Moves `count` arguments starting at `first` to the end of `to`.
void move_args(std::vector<std::string>& to, std::vector<std::string>& from, std::size_t first,
               std::size_t count) {
    const auto begin = from.begin() + static_cast<std::ptrdiff_t>(first);
    to.insert(to.end(), std::make_move_iterator(begin),
              std::make_move_iterator(begin + static_cast<std::ptrdiff_t>(count)));
}

class Groups {
public:
    explicit Groups(std::chrono::steady_clock::time_point since) : since_(since) {}
    Backlog& of(const std::string& key) {
        const auto slot = redis::key_slot(key);
        auto [found, added] = index_.try_emplace(slot, groups_.size());
        if (added) {
            groups_.emplace_back(slot, Backlog{});
            groups_.back().second.since = since_;
        }
        return groups_[found->second].second;
    }
    std::vector<std::pair<std::uint16_t, Backlog>> take() { return std::move(groups_); }

private:
    std::chrono::steady_clock::time_point since_;
    std::map<std::uint16_t, std::size_t> index_;
    std::vector<std::pair<std::uint16_t, Backlog>> groups_;
};

using Strings = std::vector<std::string> Backlog::*;

// Moves `count` operations, each one of `keys` and an equal share of `args`, to their slots'
// groups (into the members named).
void move_keyed(Groups& groups, std::vector<std::string>& keys, std::vector<std::string>& args,
                std::size_t count, Strings group_keys, Strings group_args,
                std::size_t Backlog::*group_count) {
    const auto width = count == 0 ? 0 : args.size() / count;
    for (std::size_t i = 0; i < count; ++i) {
        auto& group = groups.of(keys[i]);
        (group.*group_keys).push_back(std::move(keys[i]));
        move_args(group.*group_args, args, i * width, width);
        ++(group.*group_count);
    }
}

}  // namespace

std::vector<std::pair<std::uint16_t, Backlog>> split_by_slot(Backlog&& page) {
    Groups groups(page.since);
    for (auto& settle : page.settles)
        if (!settle.key.empty()) groups.of(settle.key).settles.push_back(std::move(settle));
    for (auto& usage : page.usages) groups.of(usage.key).usages.push_back(std::move(usage));
    // Lease operations and returns: each a key and a fixed number of arguments.
    move_keyed(groups, page.lease_keys, page.lease_args, page.leases, &Backlog::lease_keys,
               &Backlog::lease_args, &Backlog::leases);
    move_keyed(groups, page.return_keys, page.return_args, page.returns, &Backlog::return_keys,
               &Backlog::return_args, &Backlog::returns);
    return groups.take();
}

}  // namespace llmgw::limits
