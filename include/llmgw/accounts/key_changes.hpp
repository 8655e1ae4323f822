// The key changes both the admin API and self-service make (create, revoke, rotate): one
// store job each, with its audit entry, the directory republished before the answer.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/store/catalog.hpp"

namespace llmgw::accounts {

store::UnixSeconds unix_now();

// Runs `job` on the store's thread; a database that cannot be reached is 503
// store_unavailable, a name already taken 409 consumer_exists.
http::Task<std::optional<http::GatewayError>> run_store_job(store::Catalog& catalog,
                                                            std::function<void(store::Store&)> job);

// The new key (shown once) with its record; or the error for the client.
using KeyCreated = std::variant<store::NewKey, http::GatewayError>;

// `max_live_keys` (self-service) refuses with 409 too_many_keys when reached.
http::Task<KeyCreated> create_key(store::Catalog& catalog, const std::string& consumer,
                                  std::string label, std::optional<store::UnixSeconds> expires_at,
                                  std::optional<unsigned> max_live_keys, const std::string& actor);
http::Task<std::optional<http::GatewayError>> revoke_key(store::Catalog& catalog,
                                                         const std::string& consumer,
                                                         const std::string& id,
                                                         const std::string& actor);
http::Task<KeyCreated> rotate_key(store::Catalog& catalog, const std::string& consumer,
                                  const std::string& id, std::chrono::seconds grace,
                                  const std::string& actor);

}  // namespace llmgw::accounts
