// Choosing the engine store.url names.
#include "llmgw/store/store.hpp"
#include "postgres_connection.hpp"
#include "sql_store.hpp"
#include "sqlite_connection.hpp"

namespace llmgw::store {

std::unique_ptr<Store> open_store(const config::StoreConfig& config) {
    if (config.engine == config::StoreConfig::Engine::sqlite)
        return make_sql_store(open_sqlite(config.path));
    return make_sql_store(open_postgres(config.url));
}

std::string check_store(const config::StoreConfig& config) {
    if (config.engine == config::StoreConfig::Engine::sqlite) return check_sqlite(config.path);
    return check_postgres(config.url);
}

}  // namespace llmgw::store
