// The order in which waiting requests get a free slot: tier priority first, then a weighted
// fair share among consumers, each request costing its estimated tokens. Not thread-safe:
// BackendQueue guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

namespace llmgw::upstream {

// Start-time fair queueing (Goyal et al., 1996) within each priority: a request's start tag is
// the later of the queue's virtual time and the finish tag of its consumer's previous request;
// its finish tag is start + cost / weight; the smallest start tag goes first. A consumer with
// 40 requests waiting has tags far ahead, so a light consumer's new request goes next; two
// backlogged consumers of weights 3 and 1 are served tokens in about that ratio.
class FairQueue {
public:
    struct Place {
        std::string consumer;
        unsigned priority = 0;    // higher first
        unsigned weight = 1;      // share among consumers of one priority
        std::uint64_t cost = 1;   // estimated tokens: prompt + max_tokens
    };
    using Id = std::uint64_t;
    struct Entry {
        Id id = 0;
        unsigned priority = 0;
        double start = 0;
        double finish = 0;
        std::string consumer;
    };

    Id push(const Place& place);
    // The next request in line; nullopt when none waits.
    std::optional<Entry> pop();
    // Puts a popped entry back with its tags, so it keeps its place (its turn came but the
    // slot was gone by the time it looked).
    void restore(const Entry& entry);
    // Takes out a request that leaves while waiting; false when it is not waiting.
    bool remove(Id id);

    std::size_t size() const { return order_.size(); }
    bool empty() const { return order_.empty(); }
    // Consumers with a tag kept (waiting, or served ahead of the virtual time): bounded by
    // the consumers seen recently, for tests.
    std::size_t flows() const { return flows_.size(); }

private:
    // Higher priority first, then the smaller start tag, then arrival.
    struct Key {
        unsigned priority;
        double start;
        Id id;
        bool operator<(const Key& other) const {
            if (priority != other.priority) return priority > other.priority;
            if (start != other.start) return start < other.start;
            return id < other.id;
        }
    };
    struct Flow {
        double finish = 0;
        std::size_t waiting = 0;
    };
    void insert(const Entry& entry);
    void forget_idle_flows();

    std::map<Key, Entry> order_;
    std::unordered_map<Id, Key> keys_;
    std::unordered_map<std::string, Flow> flows_;
    double virtual_time_ = 0;
    Id next_id_ = 1;
    std::uint64_t pops_ = 0;
};

}  // namespace llmgw::upstream
