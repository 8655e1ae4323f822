// The Store in SQL both engines speak; each engine is only a SqlConnection.
#pragma once

#include <memory>

#include "llmgw/store/store.hpp"
#include "sql_connection.hpp"

namespace llmgw::store {

std::unique_ptr<Store> make_sql_store(std::unique_ptr<SqlConnection> connection);

}  // namespace llmgw::store
