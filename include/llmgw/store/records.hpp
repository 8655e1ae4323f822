// The rows the store keeps: run-time consumers with their keys, usage ledger rows, audit entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmgw::store {

// Times are Unix seconds (UTC); days are YYYY-MM-DD (UTC).
using UnixSeconds = std::int64_t;

struct StoredKey {
    std::string id;      // public, in URLs ("key_" + 16 hex digits)
    std::string prefix;  // the key's first characters, to recognise it in a list
    std::string label;
    std::string sha256;  // the raw 32-byte digest; the key itself is never kept
    UnixSeconds created_at = 0;
    std::optional<UnixSeconds> expires_at;
    std::optional<std::string> last_used_day;

    bool live(UnixSeconds now) const { return !expires_at || *expires_at > now; }
};

struct StoredConsumer {
    std::string name;
    std::string tier;
    std::optional<std::vector<std::string>> routes;  // allow-list of route names
    bool disabled = false;
    std::string metadata = "{}";  // a JSON object, as the operator sent it
    UnixSeconds created_at = 0;
    UnixSeconds updated_at = 0;
    std::vector<StoredKey> keys;
};

// One account × UTC day × model (as sent upstream).
struct LedgerRow {
    std::string day;
    std::string account;
    std::string model;
    std::uint64_t requests = 0;
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t cached_tokens = 0;       // tokens of answers replayed from the cache
    std::uint64_t cached_requests = 0;     // answers replayed from the cache
    std::uint64_t estimated_requests = 0;  // requests whose tokens were estimated
    std::optional<double> cost;            // set only when prices are configured

    void add(const LedgerRow& other);
};

// One change made through the API: who (an admin token's fingerprint, or a consumer through
// self-service), what and on what. Never a key or a token.
struct AuditEntry {
    UnixSeconds at = 0;
    std::string actor;
    std::string action;  // consumer.create, key.revoke, ...
    std::string target;  // the consumer's name, with "/keys/<id>" for a key
    std::string detail = "{}";  // a JSON object of the changed fields
};

// A ledger range: days from..to (inclusive); `account` empty for every account.
struct LedgerQuery {
    std::string from;
    std::string to;
    std::string account;
};

// Where a ledger read stops and the next page begins (keyset paging: day, account, model).
struct LedgerPosition {
    std::string day, account, model;
};

}  // namespace llmgw::store
