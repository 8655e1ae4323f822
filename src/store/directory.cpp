// Building the in-memory directory of run-time consumers and keys.
#include "llmgw/store/directory.hpp"

namespace llmgw::store {

Directory::Directory(std::vector<StoredConsumer> consumers) {
    by_digest_.reserve(consumers.size());
    for (auto& consumer : consumers) add(std::make_shared<const StoredConsumer>(std::move(consumer)));
}

void Directory::add(std::shared_ptr<const StoredConsumer> consumer) {
    for (const auto& key : consumer->keys) by_digest_.emplace(key.sha256, KeyEntry{consumer, &key});
    by_name_.emplace(consumer->name, std::move(consumer));
}

std::shared_ptr<const Directory> Directory::with(const std::string& name,
                                                 std::vector<StoredConsumer> fresh) const {
    // A copy of the maps shares every other consumer (shared pointers): only `name` changes.
    auto next = std::make_shared<Directory>(*this);
    if (const auto old = next->by_name_.find(name); old != next->by_name_.end()) {
        for (const auto& key : old->second->keys) next->by_digest_.erase(key.sha256);
        next->by_name_.erase(old);
    }
    for (auto& consumer : fresh) next->add(std::make_shared<const StoredConsumer>(std::move(consumer)));
    return next;
}

std::shared_ptr<const StoredConsumer> Directory::consumer(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace llmgw::store
