// SQLite through its C API: prepared statements kept for the connection's life (prepared
// once with SQLITE_PREPARE_PERSISTENT, reset after each use), WAL so readers never wait.
#include "sqlite_connection.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <unordered_map>

#include "llmgw/store/store.hpp"

namespace llmgw::store {

namespace {

class SqliteConnection final : public SqlConnection {
public:
    explicit SqliteConnection(const std::string& path) {
        const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw StoreError("cannot open the SQLite database " + path + ": " + why);
        }
        // Another process (a backup, the sqlite3 shell) may hold a lock for a moment.
        sqlite3_busy_timeout(db_, 5000);
        SqlRows rows;
        run("PRAGMA journal_mode=WAL", {}, &rows);
        if (rows.empty() || !rows[0][0] || *rows[0][0] != "wal")
            throw StoreError("the SQLite database " + path + " cannot use WAL mode");
        run("PRAGMA synchronous=NORMAL", {}, nullptr);  // WAL + NORMAL: durable at each checkpoint
    }

    ~SqliteConnection() override {
        for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
        sqlite3_close(db_);
    }

    std::uint64_t run(const std::string& sql, const SqlParams& params, SqlRows* rows) override {
        auto* statement = prepared(sql);
        bind(statement, params);
        int rc;
        while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
            if (rows != nullptr) rows->push_back(row_of(statement));
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
        if (rc != SQLITE_DONE) fail(rc == SQLITE_CONSTRAINT ? "constraint" : "statement");
        return static_cast<std::uint64_t>(sqlite3_changes(db_));
    }

    void begin() override { run("BEGIN IMMEDIATE", {}, nullptr); }
    void commit() override { run("COMMIT", {}, nullptr); }
    void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
    bool postgres() const override { return false; }
    void lock_migrations() override {}
    void unlock_migrations() noexcept override {}
    void ensure_migrations_table() override {
        run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at BIGINT NOT NULL)",
            {}, nullptr);
    }

private:
    sqlite3_stmt* prepared(const std::string& sql) {
        const auto found = statements_.find(sql);
        if (found != statements_.end()) return found->second;
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK)
            fail("prepare");
        statements_.emplace(sql, statement);
        return statement;
    }

    void bind(sqlite3_stmt* statement, const SqlParams& params) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            const int at = static_cast<int>(i) + 1;
            const auto& value = params[i];
            if (const auto* text = std::get_if<std::string>(&value))
                sqlite3_bind_text(statement, at, text->data(), static_cast<int>(text->size()),
                                  SQLITE_TRANSIENT);
            else if (const auto* number = std::get_if<std::int64_t>(&value))
                sqlite3_bind_int64(statement, at, *number);
            else if (const auto* real = std::get_if<double>(&value))
                sqlite3_bind_double(statement, at, *real);
            else
                sqlite3_bind_null(statement, at);
        }
    }

    static SqlRow row_of(sqlite3_stmt* statement) {
        SqlRow row;
        const int columns = sqlite3_column_count(statement);
        for (int c = 0; c < columns; ++c) {
            if (sqlite3_column_type(statement, c) == SQLITE_NULL) {
                row.emplace_back();
                continue;
            }
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
            row.emplace_back(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, c))));
        }
        return row;
    }

    [[noreturn]] void fail(const char* what) {
        throw StoreError(std::string("SQLite ") + what + " failed: " + sqlite3_errmsg(db_));
    }

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<SqlConnection> open_sqlite(const std::string& path) {
    return std::make_unique<SqliteConnection>(path);
}

std::string check_sqlite(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(path, ec)) {
        sqlite3* db = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        std::string error;
        if (rc == SQLITE_OK &&
            sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) != SQLITE_OK)
            error = path + " is not a usable SQLite database: " + sqlite3_errmsg(db);
        else if (rc != SQLITE_OK)
            error = "cannot open " + path;
        sqlite3_close(db);
        return error;
    }
    auto directory = fs::path(path).parent_path();
    if (directory.empty()) directory = ".";
    if (!fs::is_directory(directory, ec)) return "the directory of " + path + " does not exist";
    if (access(directory.c_str(), W_OK) != 0)
        return "the directory of " + path + " is not writable (the database file is created there)";
    return {};
}

}  // namespace llmgw::store
