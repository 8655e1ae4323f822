// The schema's numbered migrations: each runs once, in order, and is recorded in the database.
// Append a new one at the end; never edit one that has shipped.
#include "llmgw/store/store.hpp"

namespace llmgw::store {

namespace {

std::vector<std::vector<std::string>> dialect(bool postgres) {
    const std::string serial = postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
    const std::string real = postgres ? "DOUBLE PRECISION" : "REAL";
    return {
        // 1: run-time consumers and their keys (stored as SHA-256, lower-case hex).
        {"CREATE TABLE consumers (name TEXT PRIMARY KEY, tier TEXT NOT NULL, routes TEXT, "
         "disabled INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}', "
         "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
         "CREATE TABLE api_keys (id TEXT PRIMARY KEY, consumer TEXT NOT NULL, "
         "prefix TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', sha256 TEXT NOT NULL UNIQUE, "
         "created_at BIGINT NOT NULL, expires_at BIGINT, last_used_day TEXT)",
         "CREATE INDEX api_keys_by_consumer ON api_keys (consumer)"},
        // 2: the usage ledger, one row per account x UTC day x model.
        {"CREATE TABLE usage_ledger (day TEXT NOT NULL, account TEXT NOT NULL, "
         "model TEXT NOT NULL, requests BIGINT NOT NULL DEFAULT 0, "
         "prompt_tokens BIGINT NOT NULL DEFAULT 0, completion_tokens BIGINT NOT NULL DEFAULT 0, "
         "cached_tokens BIGINT NOT NULL DEFAULT 0, cached_requests BIGINT NOT NULL DEFAULT 0, "
         "estimated_requests BIGINT NOT NULL DEFAULT 0, cost " + real + ", "
         "PRIMARY KEY (day, account, model))",
         "CREATE INDEX usage_ledger_by_account ON usage_ledger (account, day)"},
        // 3: the audit log of changes made through the API.
        {"CREATE TABLE audit_log (id " + serial + ", at BIGINT NOT NULL, actor TEXT NOT NULL, "
         "action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)",
         "CREATE INDEX audit_log_by_time ON audit_log (at)"},
    };
}

}  // namespace

const std::vector<std::vector<std::string>>& migrations(bool postgres) {
    static const auto sqlite_steps = dialect(false);
    static const auto postgres_steps = dialect(true);
    return postgres ? postgres_steps : sqlite_steps;
}

void LedgerRow::add(const LedgerRow& other) {
    requests += other.requests;
    prompt_tokens += other.prompt_tokens;
    completion_tokens += other.completion_tokens;
    cached_tokens += other.cached_tokens;
    cached_requests += other.cached_requests;
    estimated_requests += other.estimated_requests;
    if (other.cost) cost = cost.value_or(0) + *other.cost;
}

}  // namespace llmgw::store
