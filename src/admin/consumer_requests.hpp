// Reading and answering the consumer API's JSON: bodies checked into store records (or the
// error the contract names), records shown as the API shows them. No I/O, so tested alone.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "llmgw/config/config.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/store/records.hpp"

namespace llmgw::admin {

template <typename T>
using Checked = std::variant<T, http::GatewayError>;

// POST /admin/consumers {name, tier, routes?, metadata?} (the name not yet checked for use).
Checked<store::StoredConsumer> new_consumer(std::string_view body, const config::Config& config,
                                            store::UnixSeconds now);
// PATCH {tier?, routes?, disabled?, metadata?} applied to `consumer`.
std::optional<http::GatewayError> patch_consumer(std::string_view body, const config::Config& config,
                                                 store::StoredConsumer& consumer);

struct KeyRequest {
    std::string label;
    std::optional<store::UnixSeconds> expires_at;
};
// POST .../keys {label?, expires_at?} (an empty body is an empty object).
Checked<KeyRequest> key_request(std::string_view body, store::UnixSeconds now);
// POST .../rotate {grace?} (default 1h): how long the old key keeps working.
Checked<std::chrono::seconds> rotate_request(std::string_view body);

// "2026-12-31T00:00:00Z" and back.
std::optional<store::UnixSeconds> parse_time(std::string_view text);
std::string format_time(store::UnixSeconds seconds);

nlohmann::json consumer_json(const store::StoredConsumer& consumer);
nlohmann::json config_consumer_json(const config::Consumer& consumer);
nlohmann::json key_json(const store::StoredKey& key);

// Paging cursors: opaque to clients; anything not made here is refused.
std::string make_cursor(const std::string& last_name);
std::optional<std::string> read_cursor(std::string_view cursor);

}  // namespace llmgw::admin
