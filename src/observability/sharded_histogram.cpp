// ShardedHistogramFamily: per-thread histogram counts, added up when scraped.
#include "sharded_histogram.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <limits>

namespace llmgw::observability {

ShardedHistogramFamily::ShardedHistogramFamily(ShardedHistogramSpec spec)
    : name_(std::move(spec.name)), help_(std::move(spec.help)), bounds_(std::move(spec.bounds)) {}

ShardedHistogramFamily::Shard::Shard(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
    for (std::size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void ShardedHistogramFamily::Shard::observe(double value) {
    // The first bucket whose upper bound holds the value (le: "less than or equal").
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    // One writer: a load and a store, no read-modify-write; a scrape reads either value.
    auto& count = counts_[bucket];
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

ShardedHistogramFamily::Shard& ShardedHistogramFamily::shard(const prometheus::Labels& labels) {
    const std::lock_guard lock(mutex_);
    auto& slot = children_[labels].shards[std::this_thread::get_id()];
    if (!slot) slot = std::make_unique<Shard>(bounds_);
    return *slot;
}

std::vector<prometheus::MetricFamily> ShardedHistogramFamily::Collect() const {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = prometheus::MetricType::Histogram;
    const std::lock_guard lock(mutex_);
    for (const auto& [labels, child] : children_) {
        prometheus::ClientMetric metric;
        for (const auto& [name, value] : labels) metric.label.push_back({name, value});
        std::vector<std::uint64_t> counts(bounds_.size() + 1, 0);
        double sum = 0;
        for (const auto& [thread, shard] : child.shards) {
            for (std::size_t i = 0; i < counts.size(); ++i)
                counts[i] += shard->counts_[i].load(std::memory_order_relaxed);
            sum += shard->sum_.load(std::memory_order_relaxed);
        }
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            metric.histogram.bucket.push_back(
                {cumulative, i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity()});
        }
        metric.histogram.sample_count = cumulative;
        metric.histogram.sample_sum = sum;
        family.metric.push_back(std::move(metric));
    }
    return {std::move(family)};
}

}  // namespace llmgw::observability
