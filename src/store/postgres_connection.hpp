// The PostgreSQL engine through libpq: one connection per use (the store's thread, the
// change feed's), statements prepared once per connection, a short connect timeout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sql_connection.hpp"

namespace llmgw::store {

std::unique_ptr<SqlConnection> open_postgres(const std::string& url);
// Empty when libpq accepts the URL's syntax (nothing is connected to).
std::string check_postgres(const std::string& url);

// LISTEN llmgw_consumers on a connection of its own: the names other instances changed.
class PostgresFeed {
public:
    explicit PostgresFeed(const std::string& url);
    ~PostgresFeed();
    PostgresFeed(const PostgresFeed&) = delete;
    PostgresFeed& operator=(const PostgresFeed&) = delete;
    // Waits up to `timeout_ms` for notifications; throws StoreError when the connection broke.
    std::vector<std::string> wait(int timeout_ms);

private:
    struct Connection;
    std::unique_ptr<Connection> connection_;
};

}  // namespace llmgw::store
