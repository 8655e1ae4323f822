// libpq: parameters sent as text (PostgreSQL infers their types from the statement),
// statements prepared once per connection and executed by name afterwards, every answer
// waited for in poll() with a deadline (never libpq's unbounded blocking calls).
#include "postgres_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <unordered_map>

#include "llmgw/store/store.hpp"

namespace llmgw::store {

namespace {

// libpq's messages name the host and user, never the password.
std::string message_of(PGconn* connection) {
    std::string text = connection != nullptr ? PQerrorMessage(connection) : "out of memory";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

PGconn* connect(const std::string& url) {
    // A down database must fail a call in seconds: the store's thread has other work.
    const char* keys[] = {"dbname", "connect_timeout", nullptr};
    const char* values[] = {url.c_str(), "3", nullptr};
    PGconn* connection = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(connection) != CONNECTION_OK) {
        const auto why = message_of(connection);
        PQfinish(connection);
        throw StoreError("cannot connect to PostgreSQL: " + why);
    }
    return connection;
}

// The longest one statement may take. A database that stops answering without closing the
// connection (frozen, or a network that drops everything) then fails the call, and the store's
// thread goes on (flushes kept for later, admin calls answered 503) instead of waiting forever.
constexpr auto call_timeout = std::chrono::seconds(5);

// The answer to the statement just sent (PQsend*), waiting up to `call_timeout` in poll():
// libpq's own PQexec would wait without end. Null when it timed out or the connection broke;
// the connection is then unusable and the caller drops it.
PGresult* result_in_time(PGconn* connection) {
    const auto deadline = std::chrono::steady_clock::now() + call_timeout;
    PGresult* first = nullptr;
    // One statement, one result, then a null one (the statement's end): read up to that end,
    // each step in time, so the next statement can be sent.
    for (;;) {
        while (PQisBusy(connection)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd watched{PQsocket(connection), POLLIN, 0};
            if (left.count() <= 0 || watched.fd < 0 ||
                (poll(&watched, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) ||
                !PQconsumeInput(connection)) {
                PQclear(first);
                return nullptr;
            }
        }
        PGresult* next = PQgetResult(connection);
        if (next == nullptr) return first;
        if (first == nullptr) first = next;
        else PQclear(next);
    }
}

std::string text_of(const SqlValue& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    if (const auto* number = std::get_if<std::int64_t>(&value)) return std::to_string(*number);
    if (const auto* real = std::get_if<double>(&value)) return std::to_string(*real);
    return {};
}

class PostgresConnection final : public SqlConnection {
public:
    explicit PostgresConnection(const std::string& url) : connection_(connect(url)) {
        try {
            simple("SET client_min_messages TO WARNING");
        } catch (...) {
            PQfinish(connection_);  // the destructor does not run for a constructor that threw
            throw;
        }
    }
    ~PostgresConnection() override { PQfinish(connection_); }

    std::uint64_t run(const std::string& sql, const SqlParams& params, SqlRows* rows) override {
        const auto& name = prepared(sql, static_cast<int>(params.size()));
        std::vector<std::string> texts;
        std::vector<const char*> values;
        texts.reserve(params.size());
        for (const auto& param : params) texts.push_back(text_of(param));
        for (std::size_t i = 0; i < params.size(); ++i)
            values.push_back(std::holds_alternative<std::monostate>(params[i]) ? nullptr : texts[i].c_str());
        PGresult* result = sent(PQsendQueryPrepared(connection_, name.c_str(),
                                                    static_cast<int>(values.size()), values.data(),
                                                    nullptr, nullptr, 0));
        const auto status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            PQclear(result);
            fail("statement");
        }
        if (rows != nullptr) {
            for (int r = 0; r < PQntuples(result); ++r) {
                SqlRow row;
                for (int c = 0; c < PQnfields(result); ++c)
                    if (PQgetisnull(result, r, c))
                        row.emplace_back();
                    else
                        row.emplace_back(std::string(PQgetvalue(result, r, c),
                                                     static_cast<std::size_t>(PQgetlength(result, r, c))));
                rows->push_back(std::move(row));
            }
        }
        const char* changed = PQcmdTuples(result);
        const std::uint64_t count = changed != nullptr && *changed ? std::stoull(changed) : 0;
        PQclear(result);
        return count;
    }

    void begin() override { simple("BEGIN"); }
    void commit() override { simple("COMMIT"); }
    void rollback() noexcept override { quietly("ROLLBACK"); }
    bool postgres() const override { return true; }
    // A session-level advisory lock: a second instance starting at the same time waits here
    // until the first has migrated, then finds the version recorded and runs nothing.
    void lock_migrations() override {
        run("SELECT pg_advisory_lock(" + migrations_lock + ")", {}, nullptr);
    }
    void unlock_migrations() noexcept override {
        quietly("SELECT pg_advisory_unlock(" + migrations_lock + ")");
    }
    void ensure_migrations_table() override {
        simple("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "applied_at BIGINT NOT NULL)");
    }

private:
    // Any constant shared by every llmgw instance: "llmgw" in ASCII.
    inline static const std::string migrations_lock = "108109103119";

    const std::string& prepared(const std::string& sql, int parameters) {
        const auto found = names_.find(sql);
        if (found != names_.end()) return found->second;
        auto name = "s" + std::to_string(names_.size());
        PGresult* result =
            sent(PQsendPrepare(connection_, name.c_str(), sql.c_str(), parameters, nullptr));
        const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
        PQclear(result);
        if (!ok) fail("prepare");
        return names_.emplace(sql, std::move(name)).first->second;
    }

    void simple(const char* sql) {
        PGresult* result = sent(PQsendQuery(connection_, sql));
        const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
        PQclear(result);
        if (!ok) fail(sql);
    }

    // The answer to what was just sent; throws when it could not be sent, when the
    // connection broke, or when no answer came within call_timeout (the connection is then
    // marked broken: it still waits for that answer, and the store drops it).
    PGresult* sent(int queued) {
        if (broken_ || !queued) fail("call");
        PGresult* result = result_in_time(connection_);
        if (result == nullptr) {
            broken_ = true;
            if (PQstatus(connection_) == CONNECTION_OK)
                throw StoreError("PostgreSQL did not answer within " +
                                 std::to_string(call_timeout.count()) + " s");
            fail("call");
        }
        return result;
    }

    // For rollback and unlock, which must not throw: on a broken connection, nothing.
    void quietly(const std::string& sql) noexcept {
        if (broken_ || !PQsendQuery(connection_, sql.c_str())) return;
        if (PGresult* result = result_in_time(connection_)) PQclear(result);
        else broken_ = true;
    }

    [[noreturn]] void fail(const std::string& what) {
        throw StoreError("PostgreSQL " + what + " failed: " + message_of(connection_));
    }

    PGconn* connection_;
    bool broken_ = false;  // a call timed out: an answer may still be on its way
    std::unordered_map<std::string, std::string> names_;  // SQL text → prepared name
};

}  // namespace

std::unique_ptr<SqlConnection> open_postgres(const std::string& url) {
    return std::make_unique<PostgresConnection>(url);
}

std::string check_postgres(const std::string& url) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
    std::string problem;
    if (options == nullptr) problem = error != nullptr ? error : "the URL cannot be parsed";
    while (!problem.empty() && problem.back() == '\n') problem.pop_back();
    PQconninfoFree(options);
    PQfreemem(error);
    return problem;
}

struct PostgresFeed::Connection {
    explicit Connection(PGconn* opened) : connection(opened) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { PQfinish(connection); }
    PGconn* connection;
};

PostgresFeed::PostgresFeed(const std::string& url)
    : connection_(std::make_unique<Connection>(connect(url))) {
    PGresult* result = PQsendQuery(connection_->connection, "LISTEN llmgw_consumers")
                           ? result_in_time(connection_->connection)
                           : nullptr;
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (!ok) throw StoreError("PostgreSQL LISTEN failed: " + message_of(connection_->connection));
}

PostgresFeed::~PostgresFeed() = default;

std::vector<std::string> PostgresFeed::wait(int timeout_ms) {
    auto* connection = connection_->connection;
    pollfd watched{PQsocket(connection), POLLIN, 0};
    if (watched.fd < 0) throw StoreError("the PostgreSQL connection is closed");
    if (poll(&watched, 1, timeout_ms) < 0) return {};
    if (!PQconsumeInput(connection) || PQstatus(connection) != CONNECTION_OK)
        throw StoreError("the PostgreSQL connection broke: " + message_of(connection));
    std::vector<std::string> names;
    while (PGnotify* notification = PQnotifies(connection)) {
        names.emplace_back(notification->extra);
        PQfreemem(notification);
    }
    return names;
}

}  // namespace llmgw::store
