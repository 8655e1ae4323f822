// The SQLite engine: one connection to the database file in WAL mode, statements cached.
#pragma once

#include <memory>
#include <string>

#include "sql_connection.hpp"

namespace llmgw::store {

std::unique_ptr<SqlConnection> open_sqlite(const std::string& path);
// Empty when `path` could be opened (an existing database is only read; a new file's
// directory must exist and be writable).
std::string check_sqlite(const std::string& path);

}  // namespace llmgw::store
