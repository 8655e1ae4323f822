// KeyMemo: raw key material to finished key, bounded, one per worker (no lock).
#include "llmgw/cache/key_memo.hpp"

namespace llmgw::cache {

namespace {
// What a map entry costs besides its two strings' characters, roughly (node, bucket, headers).
constexpr std::size_t kEntryOverhead = 128;
}  // namespace

const std::string* KeyMemo::find(const KeyParts& parts) {
    memorable_ = parts.raw_body.size() <= bounds_.max_body_bytes;
    if (!memorable_) return nullptr;
    material_.clear();
    material_ += parts.streamed ? 's' : 'w';
    append_key_part(material_, parts.route);
    append_key_part(material_, parts.method);
    append_key_part(material_, parts.target);
    append_key_part(material_, parts.consumer);
    append_key_part(material_, parts.raw_body);
    const auto it = keys_.find(material_);
    return it == keys_.end() ? nullptr : &it->second;
}

void KeyMemo::remember(const std::string& key) {
    if (!memorable_) return;
    const auto cost = material_.size() + key.size() + kEntryOverhead;
    if (cost > bounds_.max_bytes) return;
    // Evicted all at once when full: simple, and what is asked again comes back at once.
    if (keys_.size() >= bounds_.max_entries || bytes_ + cost > bounds_.max_bytes) {
        keys_.clear();
        bytes_ = 0;
    }
    if (keys_.emplace(material_, key).second) bytes_ += cost;
}

}  // namespace llmgw::cache
