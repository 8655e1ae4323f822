// The one interface the gateway sees of a database (Kong's DAO strategies): consumers, keys,
// the usage ledger and the audit log. One engine per database behind it (SQLite, PostgreSQL);
// every method runs on the store's own thread, never on a worker.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/store/records.hpp"

namespace llmgw::store {

// The database could not be reached or refused a statement. The message never holds a secret.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An insert collided with an existing row (a consumer name, a key id).
class Conflict : public StoreError {
public:
    using StoreError::StoreError;
};

class Store {
public:
    virtual ~Store() = default;

    // Runs the numbered migrations the database has not recorded yet, each once, each in
    // one transaction; returns the schema version reached.
    virtual int migrate() = 0;

    // Every consumer with its keys (or only `name`'s: empty when it does not exist).
    virtual std::vector<StoredConsumer> load(const std::optional<std::string>& name) = 0;

    // Each change below is one transaction with its audit entry. False: no such row.
    virtual void insert_consumer(const StoredConsumer& consumer, const AuditEntry& audit) = 0;
    virtual bool update_consumer(const StoredConsumer& consumer, const AuditEntry& audit) = 0;
    virtual bool delete_consumer(const std::string& name, const AuditEntry& audit) = 0;
    virtual void insert_key(const std::string& consumer, const StoredKey& key,
                            const AuditEntry& audit) = 0;
    virtual bool delete_key(const std::string& consumer, const std::string& id,
                            const AuditEntry& audit) = 0;
    // A new key, and the old one's expiry moved to `old_expires_at`, together.
    virtual bool rotate_key(const std::string& consumer, const std::string& old_id,
                            UnixSeconds old_expires_at, const StoredKey& key,
                            const AuditEntry& audit) = 0;
    // The day each key was last used (only moves forward).
    virtual void mark_keys_used(const std::vector<std::pair<std::string, std::string>>& id_day) = 0;

    // Adds the rows to the ledger (upserts), all in one transaction.
    virtual void add_usage(const std::vector<LedgerRow>& rows) = 0;
    // Up to `limit` rows of the range after `after` (all from the start when null), in
    // (day, account, model) order.
    virtual std::vector<LedgerRow> read_usage(const LedgerQuery& query,
                                              const std::optional<LedgerPosition>& after,
                                              std::size_t limit) = 0;
    // Audit entries from..to (Unix seconds, inclusive), oldest first, up to `limit`.
    virtual std::vector<AuditEntry> read_audit(UnixSeconds from, UnixSeconds to,
                                               std::size_t limit) = 0;
};

// The engine `config.url` names, connected (throws StoreError when it cannot be opened).
std::unique_ptr<Store> open_store(const config::StoreConfig& config);

// For --check: whether the URL can be used, without writing anything (empty when it can).
std::string check_store(const config::StoreConfig& config);

// The numbered migrations both engines run, in order (index + 1 is the version). Each
// statement list is in the engine's dialect; `{ts}` is a timestamp type, `{id}` a serial.
const std::vector<std::vector<std::string>>& migrations(bool postgres);

}  // namespace llmgw::store
