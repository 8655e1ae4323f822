// Creating, revoking and rotating keys in the store; the key itself never leaves the answer.
#include "llmgw/accounts/key_changes.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::accounts {

store::UnixSeconds unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

http::Task<std::optional<http::GatewayError>> run_store_job(store::Catalog& catalog,
                                                            std::function<void(store::Store&)> job) {
    std::optional<http::GatewayError> error;
    try {
        co_await catalog.run(std::move(job));
    } catch (const store::Conflict&) {
        error = http::make_error(http::ErrorCode::consumer_exists);
    } catch (const store::StoreError&) {
        error = http::make_error(http::ErrorCode::store_unavailable);
    }
    co_return error;
}

namespace {

store::AuditEntry key_audit(const std::string& actor, const char* action, const std::string& consumer,
                            const store::StoredKey& key) {
    const nlohmann::json detail = {{"id", key.id}, {"prefix", key.prefix}, {"label", key.label}};
    return {unix_now(), actor, action, consumer + "/keys/" + key.id, detail.dump()};
}

std::size_t live_keys(const store::StoredConsumer& consumer, store::UnixSeconds now) {
    std::size_t live = 0;
    for (const auto& key : consumer.keys) live += key.live(now) ? 1 : 0;
    return live;
}

}  // namespace

http::Task<KeyCreated> create_key(store::Catalog& catalog, const std::string& consumer,
                                  std::string label, std::optional<store::UnixSeconds> expires_at,
                                  std::optional<unsigned> max_live_keys, const std::string& actor) {
    const auto now = unix_now();
    auto made = store::generate_key(std::move(label), now, expires_at);
    std::optional<http::ErrorCode> refused;
    auto error = co_await run_store_job(catalog, [&](store::Store& store) {
        const auto found = store.load(consumer);
        if (found.empty()) {
            refused = http::ErrorCode::consumer_not_found;
            return;
        }
        if (max_live_keys && live_keys(found.front(), now) >= *max_live_keys) {
            refused = http::ErrorCode::too_many_keys;
            return;
        }
        store.insert_key(consumer, made.stored, key_audit(actor, "key.create", consumer, made.stored));
        catalog.refresh(store, consumer);
    });
    if (error) co_return *error;
    if (refused) co_return http::make_error(*refused);
    co_return made;
}

http::Task<std::optional<http::GatewayError>> revoke_key(store::Catalog& catalog,
                                                         const std::string& consumer,
                                                         const std::string& id,
                                                         const std::string& actor) {
    bool found = false;
    auto error = co_await run_store_job(catalog, [&](store::Store& store) {
        store::StoredKey key;
        key.id = id;
        found = store.delete_key(consumer, id, key_audit(actor, "key.revoke", consumer, key));
        if (found) catalog.refresh(store, consumer);
    });
    if (error) co_return error;
    if (!found) co_return http::make_error(http::ErrorCode::key_not_found);
    co_return std::nullopt;
}

http::Task<KeyCreated> rotate_key(store::Catalog& catalog, const std::string& consumer,
                                  const std::string& id, std::chrono::seconds grace,
                                  const std::string& actor) {
    const auto now = unix_now();
    std::optional<store::NewKey> made;
    auto error = co_await run_store_job(catalog, [&](store::Store& store) {
        const auto found = store.load(consumer);
        if (found.empty()) return;
        for (const auto& key : found.front().keys)
            if (key.id == id) made = store::generate_key(key.label, now, key.expires_at);
        if (!made) return;
        auto audit = key_audit(actor, "key.rotate", consumer, made->stored);
        audit.detail = nlohmann::json{{"old_id", id},
                                      {"new_id", made->stored.id},
                                      {"grace_seconds", grace.count()}}
                           .dump();
        if (!store.rotate_key(consumer, id, now + grace.count(), made->stored, audit)) made.reset();
        catalog.refresh(store, consumer);
    });
    if (error) co_return *error;
    if (!made) co_return http::make_error(http::ErrorCode::key_not_found);
    co_return std::move(*made);
}

}  // namespace llmgw::accounts
