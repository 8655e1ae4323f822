// What an engine provides to the shared SQL of the store: statements with parameters (each
// prepared once and reused), transactions, and the engine's dialect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace llmgw::store {

// A bound parameter: NULL, text, an integer or a real.
using SqlValue = std::variant<std::monostate, std::string, std::int64_t, double>;
using SqlParams = std::vector<SqlValue>;
// Each cell as text (NULL: nullopt).
using SqlRow = std::vector<std::optional<std::string>>;
using SqlRows = std::vector<SqlRow>;

class SqlConnection {
public:
    virtual ~SqlConnection() = default;
    // Runs one statement (parameters $1, $2, ... in order of first appearance); the rows go
    // to `rows` when given. Returns the number of rows changed. Throws StoreError.
    virtual std::uint64_t run(const std::string& sql, const SqlParams& params = {},
                              SqlRows* rows = nullptr) = 0;
    virtual void begin() = 0;
    virtual void commit() = 0;
    virtual void rollback() noexcept = 0;
    virtual bool postgres() const = 0;
    // Creates the migrations' record when missing (before the first transaction).
    virtual void ensure_migrations_table() = 0;
    // Held while migrating, so instances starting together against one database migrate one
    // after the other (PostgreSQL: an advisory lock; SQLite serves one instance: nothing).
    virtual void lock_migrations() = 0;
    virtual void unlock_migrations() noexcept = 0;
};

}  // namespace llmgw::store
