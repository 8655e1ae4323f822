// The run-time consumers and keys as the request path sees them: an immutable snapshot in
// memory, replaced whole (atomically) when the store changes. Authentication reads it and
// never a database.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmgw/store/records.hpp"

namespace llmgw::store {

class Directory {
public:
    struct KeyEntry {
        std::shared_ptr<const StoredConsumer> consumer;
        const StoredKey* key;  // inside *consumer
    };
    using Consumers = std::map<std::string, std::shared_ptr<const StoredConsumer>>;

    Directory() = default;
    explicit Directory(std::vector<StoredConsumer> consumers);

    // The same directory with `name` replaced by `fresh` (removed when `fresh` is empty).
    std::shared_ptr<const Directory> with(const std::string& name,
                                          std::vector<StoredConsumer> fresh) const;

    // The key whose SHA-256 (32 raw bytes) is `digest`, or null.
    const KeyEntry* find_key(const std::string& digest) const {
        const auto it = by_digest_.find(digest);
        return it == by_digest_.end() ? nullptr : &it->second;
    }
    std::shared_ptr<const StoredConsumer> consumer(const std::string& name) const;
    // By name, in order (for cursor paging).
    const Consumers& consumers() const { return by_name_; }
    std::size_t key_count() const { return by_digest_.size(); }

private:
    void add(std::shared_ptr<const StoredConsumer> consumer);

    Consumers by_name_;
    std::unordered_map<std::string, KeyEntry> by_digest_;
};

// Where the current directory is: written by the store's thread, read by every worker.
class DirectorySource {
public:
    DirectorySource() : current_(std::make_shared<const Directory>()) {}
    std::shared_ptr<const Directory> current() const {
        return current_.load(std::memory_order_acquire);
    }
    void publish(std::shared_ptr<const Directory> next) {
        current_.store(std::move(next), std::memory_order_release);
    }

private:
    std::atomic<std::shared_ptr<const Directory>> current_;
};

}  // namespace llmgw::store
