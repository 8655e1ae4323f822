// Consumers, keys, the ledger and the audit log in SQL that SQLite and PostgreSQL both accept.
// Every change is one transaction with its audit row; on PostgreSQL it also notifies the
// other instances (delivered at commit) with the consumer's name.
#include "sql_store.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

namespace llmgw::store {

namespace {

constexpr const char* consumer_columns =
    "SELECT name, tier, routes, disabled, metadata, created_at, updated_at FROM consumers";
constexpr const char* key_columns =
    "SELECT consumer, id, prefix, label, sha256, created_at, expires_at, last_used_day FROM api_keys";

std::int64_t number(const std::optional<std::string>& cell) {
    return cell ? std::stoll(*cell) : 0;
}

SqlValue text_or_null(const std::optional<std::string>& value) {
    if (!value) return std::monostate{};
    return *value;
}

std::optional<std::string> routes_text(const StoredConsumer& consumer) {
    if (!consumer.routes) return std::nullopt;
    return nlohmann::json(*consumer.routes).dump();
}

StoredConsumer consumer_of(const SqlRow& row) {
    StoredConsumer consumer;
    consumer.name = row[0].value_or("");
    consumer.tier = row[1].value_or("");
    if (row[2]) consumer.routes = nlohmann::json::parse(*row[2]).get<std::vector<std::string>>();
    consumer.disabled = number(row[3]) != 0;
    consumer.metadata = row[4].value_or("{}");
    consumer.created_at = number(row[5]);
    consumer.updated_at = number(row[6]);
    return consumer;
}

std::string digest_from_hex(const std::string& hex) {
    std::string raw;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return raw;
}

std::string hex_of(const std::string& raw) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (const unsigned char c : raw) {
        hex += digits[c >> 4];
        hex += digits[c & 0xf];
    }
    return hex;
}

StoredKey key_of(const SqlRow& row) {
    StoredKey key;
    key.id = row[1].value_or("");
    key.prefix = row[2].value_or("");
    key.label = row[3].value_or("");
    key.sha256 = digest_from_hex(row[4].value_or(""));
    key.created_at = number(row[5]);
    if (row[6]) key.expires_at = number(row[6]);
    key.last_used_day = row[7];
    return key;
}

LedgerRow ledger_row_of(const SqlRow& row) {
    LedgerRow out;
    out.day = row[0].value_or("");
    out.account = row[1].value_or("");
    out.model = row[2].value_or("");
    out.requests = static_cast<std::uint64_t>(number(row[3]));
    out.prompt_tokens = static_cast<std::uint64_t>(number(row[4]));
    out.completion_tokens = static_cast<std::uint64_t>(number(row[5]));
    out.cached_tokens = static_cast<std::uint64_t>(number(row[6]));
    out.cached_requests = static_cast<std::uint64_t>(number(row[7]));
    out.estimated_requests = static_cast<std::uint64_t>(number(row[8]));
    if (row[9]) out.cost = std::stod(*row[9]);
    return out;
}

class SqlStore final : public Store {
public:
    explicit SqlStore(std::unique_ptr<SqlConnection> connection) : db_(std::move(connection)) {}

    int migrate() override;
    std::vector<StoredConsumer> load(const std::optional<std::string>& name) override;
    void insert_consumer(const StoredConsumer& consumer, const AuditEntry& audit) override;
    bool update_consumer(const StoredConsumer& consumer, const AuditEntry& audit) override;
    bool delete_consumer(const std::string& name, const AuditEntry& audit) override;
    void insert_key(const std::string& consumer, const StoredKey& key,
                    const AuditEntry& audit) override;
    bool delete_key(const std::string& consumer, const std::string& id,
                    const AuditEntry& audit) override;
    bool rotate_key(const std::string& consumer, const std::string& old_id,
                    UnixSeconds old_expires_at, const StoredKey& key,
                    const AuditEntry& audit) override;
    void mark_keys_used(const std::vector<std::pair<std::string, std::string>>& id_day) override;
    void add_usage(const std::vector<LedgerRow>& rows) override;
    std::vector<LedgerRow> read_usage(const LedgerQuery& query,
                                      const std::optional<LedgerPosition>& after,
                                      std::size_t limit) override;
    std::vector<AuditEntry> read_audit(UnixSeconds from, UnixSeconds to, std::size_t limit) override;

private:
    // Runs `change` in one transaction; rolled back when it throws or answers false.
    template <typename Change>
    bool transaction(Change change) {
        db_->begin();
        try {
            if (!change()) {
                db_->rollback();
                return false;
            }
            db_->commit();
            return true;
        } catch (...) {
            db_->rollback();
            throw;
        }
    }
    void audit(const AuditEntry& entry, const std::string& consumer);
    void write_key(const std::string& consumer, const StoredKey& key);

    std::unique_ptr<SqlConnection> db_;
};

int SqlStore::migrate() {
    db_->lock_migrations();
    struct Unlock {
        SqlConnection& db;
        ~Unlock() { db.unlock_migrations(); }
    } unlock{*db_};
    db_->ensure_migrations_table();
    SqlRows rows;
    db_->run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}, &rows);
    const auto current = static_cast<std::size_t>(number(rows.at(0).at(0)));
    const auto& steps = migrations(db_->postgres());
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (std::size_t version = current + 1; version <= steps.size(); ++version)
        transaction([&] {
            for (const auto& statement : steps[version - 1]) db_->run(statement);
            db_->run("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                     {static_cast<std::int64_t>(version), static_cast<std::int64_t>(now)});
            return true;
        });
    return static_cast<int>(std::max(current, steps.size()));
}

std::vector<StoredConsumer> SqlStore::load(const std::optional<std::string>& name) {
    SqlRows consumer_rows, key_rows;
    if (name) {
        db_->run(std::string(consumer_columns) + " WHERE name = $1", {*name}, &consumer_rows);
        db_->run(std::string(key_columns) + " WHERE consumer = $1", {*name}, &key_rows);
    } else {
        db_->run(std::string(consumer_columns) + " ORDER BY name", {}, &consumer_rows);
        db_->run(std::string(key_columns) + " ORDER BY consumer, created_at, id", {}, &key_rows);
    }
    std::vector<StoredConsumer> consumers;
    std::map<std::string, std::size_t> index;
    consumers.reserve(consumer_rows.size());
    for (const auto& row : consumer_rows) {
        index.emplace(row[0].value_or(""), consumers.size());
        consumers.push_back(consumer_of(row));
    }
    for (const auto& row : key_rows) {
        const auto owner = index.find(row[0].value_or(""));
        if (owner != index.end()) consumers[owner->second].keys.push_back(key_of(row));
    }
    return consumers;
}

void SqlStore::audit(const AuditEntry& entry, const std::string& consumer) {
    db_->run("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
             {entry.at, entry.actor, entry.action, entry.target, entry.detail});
    // Delivered at commit, to every instance listening (itself included).
    if (db_->postgres()) db_->run("SELECT pg_notify('llmgw_consumers', $1)", {consumer});
}

void SqlStore::insert_consumer(const StoredConsumer& consumer, const AuditEntry& entry) {
    transaction([&] {
        SqlRows existing;
        db_->run("SELECT 1 FROM consumers WHERE name = $1", {consumer.name}, &existing);
        if (!existing.empty()) throw Conflict("a consumer named so exists");
        db_->run("INSERT INTO consumers (name, tier, routes, disabled, metadata, created_at, "
                 "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 {consumer.name, consumer.tier, text_or_null(routes_text(consumer)),
                  std::int64_t{consumer.disabled}, consumer.metadata, consumer.created_at,
                  consumer.updated_at});
        audit(entry, consumer.name);
        return true;
    });
}

bool SqlStore::update_consumer(const StoredConsumer& consumer, const AuditEntry& entry) {
    return transaction([&] {
        const auto changed = db_->run(
            "UPDATE consumers SET tier = $1, routes = $2, disabled = $3, metadata = $4, "
            "updated_at = $5 WHERE name = $6",
            {consumer.tier, text_or_null(routes_text(consumer)), std::int64_t{consumer.disabled},
             consumer.metadata, consumer.updated_at, consumer.name});
        if (changed == 0) return false;
        audit(entry, consumer.name);
        return true;
    });
}

bool SqlStore::delete_consumer(const std::string& name, const AuditEntry& entry) {
    return transaction([&] {
        if (db_->run("DELETE FROM consumers WHERE name = $1", {name}) == 0) return false;
        db_->run("DELETE FROM api_keys WHERE consumer = $1", {name});
        audit(entry, name);
        return true;
    });
}

void SqlStore::write_key(const std::string& consumer, const StoredKey& key) {
    SqlValue expires = std::monostate{};
    if (key.expires_at) expires = *key.expires_at;
    db_->run("INSERT INTO api_keys (id, consumer, prefix, label, sha256, created_at, expires_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7)",
             {key.id, consumer, key.prefix, key.label, hex_of(key.sha256), key.created_at, expires});
}

void SqlStore::insert_key(const std::string& consumer, const StoredKey& key,
                          const AuditEntry& entry) {
    transaction([&] {
        write_key(consumer, key);
        audit(entry, consumer);
        return true;
    });
}

bool SqlStore::delete_key(const std::string& consumer, const std::string& id,
                          const AuditEntry& entry) {
    return transaction([&] {
        if (db_->run("DELETE FROM api_keys WHERE consumer = $1 AND id = $2", {consumer, id}) == 0)
            return false;
        audit(entry, consumer);
        return true;
    });
}

bool SqlStore::rotate_key(const std::string& consumer, const std::string& old_id,
                          UnixSeconds old_expires_at, const StoredKey& key,
                          const AuditEntry& entry) {
    return transaction([&] {
        // An expiry only moves closer: a grace never lengthens a key's life.
        const auto changed = db_->run(
            "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 "
            "THEN $1 ELSE expires_at END WHERE consumer = $2 AND id = $3",
            {old_expires_at, consumer, old_id});
        if (changed == 0) return false;
        write_key(consumer, key);
        audit(entry, consumer);
        return true;
    });
}

void SqlStore::mark_keys_used(const std::vector<std::pair<std::string, std::string>>& id_day) {
    if (id_day.empty()) return;
    transaction([&] {
        for (const auto& [id, day] : id_day)
            db_->run("UPDATE api_keys SET last_used_day = $1 WHERE id = $2 AND "
                     "(last_used_day IS NULL OR last_used_day < $1)",
                     {day, id});
        return true;
    });
}

void SqlStore::add_usage(const std::vector<LedgerRow>& rows) {
    if (rows.empty()) return;
    transaction([&] {
        for (const auto& row : rows) {
            SqlValue cost = std::monostate{};
            if (row.cost) cost = *row.cost;
            db_->run(
                "INSERT INTO usage_ledger (day, account, model, requests, prompt_tokens, "
                "completion_tokens, cached_tokens, cached_requests, estimated_requests, cost) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT (day, account, model) DO UPDATE SET "
                "requests = usage_ledger.requests + excluded.requests, "
                "prompt_tokens = usage_ledger.prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = usage_ledger.completion_tokens + excluded.completion_tokens, "
                "cached_tokens = usage_ledger.cached_tokens + excluded.cached_tokens, "
                "cached_requests = usage_ledger.cached_requests + excluded.cached_requests, "
                "estimated_requests = usage_ledger.estimated_requests + excluded.estimated_requests, "
                "cost = CASE WHEN excluded.cost IS NULL THEN usage_ledger.cost "
                "ELSE COALESCE(usage_ledger.cost, 0) + excluded.cost END",
                {row.day, row.account, row.model, static_cast<std::int64_t>(row.requests),
                 static_cast<std::int64_t>(row.prompt_tokens),
                 static_cast<std::int64_t>(row.completion_tokens),
                 static_cast<std::int64_t>(row.cached_tokens),
                 static_cast<std::int64_t>(row.cached_requests),
                 static_cast<std::int64_t>(row.estimated_requests), cost});
        }
        return true;
    });
}

std::vector<LedgerRow> SqlStore::read_usage(const LedgerQuery& query,
                                            const std::optional<LedgerPosition>& after,
                                            std::size_t limit) {
    const auto start = after.value_or(LedgerPosition{});
    // A row-value comparison pages by (day, account, model) without OFFSET's rescans.
    const std::string sql =
        "SELECT day, account, model, requests, prompt_tokens, completion_tokens, cached_tokens, "
        "cached_requests, estimated_requests, cost FROM usage_ledger "
        "WHERE day >= $1 AND day <= $2 AND ($3 = '' OR account = $3) "
        "AND (day, account, model) > ($4, $5, $6) "
        "ORDER BY day, account, model LIMIT $7";
    SqlRows rows;
    db_->run(sql,
             {query.from, query.to, query.account, start.day, start.account, start.model,
              static_cast<std::int64_t>(limit)},
             &rows);
    std::vector<LedgerRow> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(ledger_row_of(row));
    return out;
}

std::vector<AuditEntry> SqlStore::read_audit(UnixSeconds from, UnixSeconds to, std::size_t limit) {
    SqlRows rows;
    db_->run("SELECT at, actor, action, target, detail FROM audit_log WHERE at >= $1 AND at <= $2 "
             "ORDER BY id LIMIT $3",
             {from, to, static_cast<std::int64_t>(limit)}, &rows);
    std::vector<AuditEntry> out;
    for (const auto& row : rows)
        out.push_back({number(row[0]), row[1].value_or(""), row[2].value_or(""),
                       row[3].value_or(""), row[4].value_or("{}")});
    return out;
}

}  // namespace

std::unique_ptr<Store> make_sql_store(std::unique_ptr<SqlConnection> connection) {
    return std::make_unique<SqlStore>(std::move(connection));
}

}  // namespace llmgw::store
