// Start-time fair queueing with priorities: tags, order and the bounded set of flows.
#include "llmgw/upstream/fair_queue.hpp"

#include <algorithm>

namespace llmgw::upstream {

namespace {
// Idle flows are swept after this many pops, so the map never grows with consumers gone.
constexpr std::uint64_t sweep_every = 256;
// Beyond this many flows more than twice those waiting, idle flows are forgotten even with
// their tag ahead of the virtual time (a consumer's small debt), so memory stays bounded
// when many consumers each send one request while the queue never empties.
constexpr std::size_t idle_flows_kept = 1024;
}  // namespace

FairQueue::Id FairQueue::push(const Place& place) {
    auto& flow = flows_[place.consumer];
    Entry entry;
    entry.id = next_id_++;
    entry.priority = place.priority;
    entry.start = std::max(virtual_time_, flow.finish);
    entry.finish = entry.start + static_cast<double>(std::max<std::uint64_t>(place.cost, 1)) /
                                     std::max(place.weight, 1u);
    entry.consumer = place.consumer;
    flow.finish = entry.finish;
    insert(entry);
    return entry.id;
}

void FairQueue::insert(const Entry& entry) {
    const Key key{entry.priority, entry.start, entry.id};
    order_.emplace(key, entry);
    keys_.emplace(entry.id, key);
    ++flows_[entry.consumer].waiting;
}

std::optional<FairQueue::Entry> FairQueue::pop() {
    if (order_.empty()) return std::nullopt;
    auto first = order_.begin();
    Entry entry = std::move(first->second);
    order_.erase(first);
    keys_.erase(entry.id);
    virtual_time_ = std::max(virtual_time_, entry.start);
    auto flow = flows_.find(entry.consumer);
    if (flow != flows_.end() && flow->second.waiting > 0) --flow->second.waiting;
    if (order_.empty())
        flows_.clear();  // nobody waits: every consumer is served at once, no debt is kept
    else if (++pops_ % sweep_every == 0)
        forget_idle_flows();
    return entry;
}

void FairQueue::restore(const Entry& entry) {
    insert(entry);
}

bool FairQueue::remove(Id id) {
    const auto key = keys_.find(id);
    if (key == keys_.end()) return false;
    const auto at = order_.find(key->second);
    const Entry entry = std::move(at->second);
    order_.erase(at);
    keys_.erase(key);
    auto flow = flows_.find(entry.consumer);
    if (flow == flows_.end()) return true;
    if (flow->second.waiting > 0) --flow->second.waiting;
    // The consumer's last request left unserved: its share is not spent.
    if (flow->second.finish == entry.finish) flow->second.finish = entry.start;
    if (flow->second.waiting == 0 && flow->second.finish <= virtual_time_) flows_.erase(flow);
    return true;
}

void FairQueue::forget_idle_flows() {
    // A flow with nothing waiting whose finish tag the virtual time has passed would start
    // its next request at the virtual time anyway: keeping it changes nothing.
    const bool too_many = flows_.size() > 2 * order_.size() + idle_flows_kept;
    std::erase_if(flows_, [&](const auto& item) {
        return item.second.waiting == 0 && (too_many || item.second.finish <= virtual_time_);
    });
}

}  // namespace llmgw::upstream
