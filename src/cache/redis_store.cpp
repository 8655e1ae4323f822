// Cached answers in Redis: GET on lookup, SET with PX on store, SCAN + UNLINK on purge.
#include "llmgw/cache/redis_store.hpp"

#include <chrono>

namespace llmgw::cache {

namespace {
// SCAN's MATCH is a glob: a route name's own glob characters must match only themselves.
std::string glob_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}
}  // namespace

RedisStore::RedisStore(redis::Client& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {}

redis::Task<std::shared_ptr<const CachedAnswer>> RedisStore::find(std::string key, bool& failed) {
    std::vector<std::string> command{"GET", prefix_ + key};
    const auto result = co_await client_.command(std::move(command));
    failed = !result.has_value();
    if (failed || !result->is_string()) co_return nullptr;
    auto answer = deserialize(result->str);
    if (!answer || answer->expired(Clock::now())) co_return nullptr;
    co_return std::make_shared<const CachedAnswer>(std::move(*answer));
}

redis::Task<bool> RedisStore::insert(std::string key, std::shared_ptr<const CachedAnswer> entry) {
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(entry->expires_at -
                                                                           Clock::now());
    if (ttl.count() <= 0) co_return false;
    std::vector<std::string> command{"SET", prefix_ + key, serialize(*entry), "PX",
                                     std::to_string(ttl.count())};
    const auto result = co_await client_.command(std::move(command));
    co_return result.has_value() && result->is_status();
}

redis::Task<std::optional<std::size_t>> RedisStore::purge(std::optional<std::string> route) {
    const auto pattern = prefix_ + (route ? glob_escape(*route) + ":*" : std::string("*"));
    // Redis Cluster: each master SCANs its own keys (none at all before the map is known).
    const auto masters = client_.masters();
    if (masters == 0) co_return std::nullopt;
    std::size_t removed = 0;
    for (std::size_t master = 0; master < masters; ++master) {
        const auto count = co_await purge_on(master, pattern);
        if (!count) co_return std::nullopt;
        removed += *count;
    }
    co_return removed;
}

redis::Task<std::optional<std::size_t>> RedisStore::purge_on(std::size_t master,
                                                             std::string pattern) {
    std::string cursor = "0";
    std::size_t removed = 0;
    do {
        std::vector<std::string> scan{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        const auto page = co_await client_.command_on(master, std::move(scan));
        if (!page || !page->is_array() || page->elements.size() != 2) co_return std::nullopt;
        cursor = page->elements[0].str;
        const auto& keys = page->elements[1].elements;
        if (keys.empty()) continue;
        const auto deleted = co_await unlink(keys);
        if (!deleted) co_return std::nullopt;
        removed += *deleted;
    } while (cursor != "0");
    co_return removed;
}

// One UNLINK for the page; with Cluster one per key (keys of one command must share a slot).
redis::Task<std::optional<std::size_t>> RedisStore::unlink(const std::vector<redis::Reply>& keys) {
    std::vector<std::string> unlink{"UNLINK"};
    std::size_t removed = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        unlink.push_back(keys[i].str);
        if (client_.cluster() || i + 1 == keys.size()) {
            const auto deleted = co_await client_.command(std::move(unlink));
            if (!deleted || !deleted->is_integer()) co_return std::nullopt;
            removed += static_cast<std::size_t>(deleted->integer);
            unlink = {"UNLINK"};
        }
    }
    co_return removed;
}

}  // namespace llmgw::cache
