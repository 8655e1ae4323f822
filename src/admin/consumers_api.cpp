// /admin/consumers, /admin/consumers/{name}, .../keys, .../keys/{id}, .../rotate and
// /admin/audit: reads come from the in-memory directory, changes go to the store's thread.
#include "consumers_api.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "admin_http.hpp"
#include "consumer_requests.hpp"
#include "llmgw/accounts/key_changes.hpp"

namespace llmgw::admin {

namespace bhttp = http::beast::http;
using accounts::create_key;
using accounts::KeyCreated;
using accounts::revoke_key;
using accounts::rotate_key;
using accounts::run_store_job;
using accounts::unix_now;

namespace {

// One call: what every handler below needs. (A constructor, not aggregate initialisation:
// GCC 12 destroys an aggregate's temporaries twice in a coroutine.)
struct Call {
    Call(gateway::Gateway& g, store::Catalog& c, const http::Request& r, std::string_view t,
         http::ResponseWriter& w, const std::string& a)
        : gateway(g), catalog(c), request(r), target(t), writer(w), actor(a), snapshot(g.snapshot()) {}

    gateway::Gateway& gateway;
    store::Catalog& catalog;
    const http::Request& request;
    std::string_view target;
    http::ResponseWriter& writer;
    const std::string& actor;
    std::shared_ptr<gateway::Snapshot> snapshot;

    const config::Consumer* in_config(const std::string& name) const {
        for (const auto& consumer : snapshot->config().consumers)
            if (consumer.name == name) return &consumer;
        return nullptr;
    }
    std::string_view body() const { return request.body(); }
};

http::Task<void> fail(Call& call, http::ErrorCode code) {
    co_await send_error(call.writer, http::make_error(code));
}

http::Task<void> send_no_content(http::ResponseWriter& writer) {
    http::ResponseHead head;
    head.result(bhttp::status::no_content);
    co_await writer.send_complete(head, "");
}

store::AuditEntry audit(const Call& call, const char* action, const std::string& target,
                        const nlohmann::json& detail) {
    return {unix_now(), call.actor, action, target, detail.dump()};
}

store::AuditEntry created_audit(const Call& call, const store::StoredConsumer& consumer) {
    const nlohmann::json detail = {{"tier", consumer.tier}, {"routes", consumer_json(consumer)["routes"]}};
    return audit(call, "consumer.create", consumer.name, detail);
}

nlohmann::json audit_json(const store::AuditEntry& entry) {
    return {{"at", format_time(entry.at)},
            {"actor", entry.actor},
            {"action", entry.action},
            {"target", entry.target},
            {"detail", nlohmann::json::parse(entry.detail, nullptr, false)}};
}

http::Task<void> create_consumer(Call& call) {
    auto parsed = new_consumer(call.body(), call.snapshot->config(), unix_now());
    if (auto* error = std::get_if<http::GatewayError>(&parsed)) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    auto consumer = std::get<store::StoredConsumer>(std::move(parsed));
    if (call.in_config(consumer.name) != nullptr) {
        co_await fail(call, http::ErrorCode::consumer_exists);
        co_return;
    }
    const auto entry = created_audit(call, consumer);
    auto error = co_await run_store_job(call.catalog, [&](store::Store& store) {
        store.insert_consumer(consumer, entry);
        call.catalog.refresh(store, consumer.name);
    });
    if (error) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    co_await send_json(call.writer, consumer_json(consumer).dump(), bhttp::status::created);
}

// Store and config consumers merged in name order, `limit` after the cursor's name.
http::Task<void> list_consumers(Call& call) {
    const auto cursor_text = query_parameter(call.target, "cursor");
    const auto limit_text = query_parameter(call.target, "limit");
    std::optional<std::string> after;
    if (!cursor_text.empty() && !(after = read_cursor(cursor_text))) {
        co_await fail(call, http::ErrorCode::invalid_cursor);
        co_return;
    }
    std::size_t limit = 100;
    if (!limit_text.empty()) {
        limit = limit_text.size() <= 4 && std::all_of(limit_text.begin(), limit_text.end(), ::isdigit)
                    ? std::stoul(limit_text) : 0;
        if (limit == 0 || limit > 1000) {
            co_await send_error(call.writer, http::make_error(http::ErrorCode::invalid_admin_request,
                                                              "limit must be 1 to 1000"));
            co_return;
        }
    }
    std::vector<const config::Consumer*> yaml;
    for (const auto& consumer : call.snapshot->config().consumers)
        if (!after || consumer.name > *after) yaml.push_back(&consumer);
    std::sort(yaml.begin(), yaml.end(), [](auto* a, auto* b) { return a->name < b->name; });
    const auto directory = call.catalog.directory().current();
    const auto& stored = directory->consumers();
    auto next = after ? stored.upper_bound(*after) : stored.begin();
    auto next_yaml = yaml.begin();
    nlohmann::json data = nlohmann::json::array();
    std::string last;
    while (data.size() < limit && (next != stored.end() || next_yaml != yaml.end())) {
        const bool take_yaml = next == stored.end() || (next_yaml != yaml.end() && (*next_yaml)->name <= next->first);
        if (take_yaml) {
            if (next != stored.end() && next->first == (*next_yaml)->name) ++next;  // the file wins
            data.push_back(config_consumer_json(**next_yaml));
            last = (*next_yaml++)->name;
        } else {
            data.push_back(consumer_json(*next->second));
            last = (next++)->first;
        }
    }
    const bool more = next != stored.end() || next_yaml != yaml.end();
    const nlohmann::json page = {{"data", std::move(data)},
                                 {"next_cursor", more ? nlohmann::json(make_cursor(last)) : nlohmann::json()}};
    co_await send_json(call.writer, page.dump());
}

http::Task<void> read_consumer(Call& call, const std::string& name) {
    if (const auto* yaml = call.in_config(name)) {
        co_await send_json(call.writer, config_consumer_json(*yaml).dump());
        co_return;
    }
    const auto found = call.catalog.directory().current()->consumer(name);
    if (!found) {
        co_await fail(call, http::ErrorCode::consumer_not_found);
        co_return;
    }
    co_await send_json(call.writer, consumer_json(*found).dump());
}

http::Task<void> change_consumer(Call& call, const std::string& name) {
    const auto current = call.catalog.directory().current()->consumer(name);
    if (!current) {
        co_await fail(call, http::ErrorCode::consumer_not_found);
        co_return;
    }
    auto changed = *current;
    changed.keys.clear();
    if (auto error = patch_consumer(call.body(), call.snapshot->config(), changed)) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    changed.updated_at = unix_now();
    const auto entry = audit(call, "consumer.update", name, nlohmann::json::parse(call.body(), nullptr, false));
    bool found = false;
    auto error = co_await run_store_job(call.catalog, [&](store::Store& store) {
        found = store.update_consumer(changed, entry);
        call.catalog.refresh(store, name);
    });
    if (error) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    if (!found) {
        co_await fail(call, http::ErrorCode::consumer_not_found);
        co_return;
    }
    co_await send_json(call.writer, consumer_json(changed).dump());
}

http::Task<void> delete_consumer(Call& call, const std::string& name) {
    bool found = false;
    const auto entry = audit(call, "consumer.delete", name, nlohmann::json::object());
    auto error = co_await run_store_job(call.catalog, [&](store::Store& store) {
        found = store.delete_consumer(name, entry);
        call.catalog.refresh(store, name);
    });
    if (error) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    if (!found) {
        co_await fail(call, http::ErrorCode::consumer_not_found);
        co_return;
    }
    co_await send_no_content(call.writer);
}

http::Task<void> send_new_key(Call& call, const KeyCreated& created) {
    if (const auto* error = std::get_if<http::GatewayError>(&created)) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    const auto& made = std::get<store::NewKey>(created);
    auto body = key_json(made.stored);
    body.erase("last_used_day");
    body["key"] = made.key;  // shown here only
    co_await send_json(call.writer, body.dump(), bhttp::status::created);
}

http::Task<void> list_keys(Call& call, const std::string& name) {
    const auto found = call.catalog.directory().current()->consumer(name);
    if (!found) {
        co_await fail(call, http::ErrorCode::consumer_not_found);
        co_return;
    }
    nlohmann::json data = nlohmann::json::array();
    for (const auto& key : found->keys) data.push_back(key_json(key));
    const nlohmann::json page = {{"data", std::move(data)}};
    co_await send_json(call.writer, page.dump());
}

// /admin/consumers/{name}/keys[/{id}[/rotate]]; `rest` is what follows "keys".
http::Task<void> serve_keys(Call& call, const std::string& name, std::string_view rest) {
    const auto method = call.request.method();
    if (rest.empty() && method == bhttp::verb::post) {
        auto request = key_request(call.body(), unix_now());
        if (auto* error = std::get_if<http::GatewayError>(&request)) {
            co_await send_error(call.writer, *error);
            co_return;
        }
        auto& wanted = std::get<KeyRequest>(request);
        const auto created = co_await create_key(call.catalog, name, std::move(wanted.label),
                                                 wanted.expires_at, std::nullopt, call.actor);
        co_await send_new_key(call, created);
    } else if (rest.empty() && method == bhttp::verb::get) {
        co_await list_keys(call, name);
    } else if (rest.starts_with("/") && rest.ends_with("/rotate") && method == bhttp::verb::post) {
        const auto id = percent_decode(rest.substr(1, rest.size() - 8));
        auto grace = rotate_request(call.body());
        if (auto* error = std::get_if<http::GatewayError>(&grace)) {
            co_await send_error(call.writer, *error);
            co_return;
        }
        const auto created = co_await rotate_key(call.catalog, name, id,
                                                 std::get<std::chrono::seconds>(grace), call.actor);
        co_await send_new_key(call, created);
    } else if (rest.starts_with("/") && rest.find('/', 1) == std::string_view::npos &&
               method == bhttp::verb::delete_) {
        auto error = co_await revoke_key(call.catalog, name, percent_decode(rest.substr(1)), call.actor);
        if (error)
            co_await send_error(call.writer, *error);
        else
            co_await send_no_content(call.writer);
    } else {
        co_await fail(call, http::ErrorCode::not_found);
    }
}

// GET /admin/audit?from=YYYY-MM-DD&to=YYYY-MM-DD (UTC days, inclusive; default the last 30).
http::Task<void> serve_audit(Call& call) {
    const auto from_text = query_parameter(call.target, "from");
    const auto to_text = query_parameter(call.target, "to");
    if ((!from_text.empty() && !is_date(from_text)) || (!to_text.empty() && !is_date(to_text))) {
        co_await send_error(call.writer, http::make_error(http::ErrorCode::invalid_admin_request,
                                                          "from and to are days: YYYY-MM-DD"));
        co_return;
    }
    const auto now = unix_now();
    const auto from = from_text.empty() ? now - 30 * 86400 : *parse_time(from_text + "T00:00:00Z");
    const auto to = to_text.empty() ? now : *parse_time(to_text + "T23:59:59Z");
    std::vector<store::AuditEntry> entries;
    auto error = co_await run_store_job(call.catalog, [&](store::Store& store) {
        entries = store.read_audit(from, to, 10000);
    });
    if (error) {
        co_await send_error(call.writer, *error);
        co_return;
    }
    nlohmann::json data = nlohmann::json::array();
    for (const auto& entry : entries) data.push_back(audit_json(entry));
    const nlohmann::json page = {{"data", std::move(data)}};
    co_await send_json(call.writer, page.dump());
}

// /admin/consumers/{name}[/keys...]: config consumers are read-only here.
http::Task<void> serve_consumer(Call& call, std::string_view rest) {
    const auto slash = rest.find('/');
    const auto name = percent_decode(rest.substr(0, slash));
    const auto tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    const auto method = call.request.method();
    const bool read_only = method == bhttp::verb::get || method == bhttp::verb::head;
    if (tail.empty() && read_only) {
        co_await read_consumer(call, name);
    } else if (call.in_config(name) != nullptr && (tail.empty() || tail.starts_with("/keys"))) {
        co_await fail(call, http::ErrorCode::consumer_in_config);
    } else if (tail.empty() && method == bhttp::verb::patch) {
        co_await change_consumer(call, name);
    } else if (tail.empty() && method == bhttp::verb::delete_) {
        co_await delete_consumer(call, name);
    } else if (tail.starts_with("/keys")) {
        co_await serve_keys(call, name, tail.substr(5));
    } else {
        co_await fail(call, http::ErrorCode::not_found);
    }
}

}  // namespace

bool is_consumers_call(std::string_view path) {
    return path == "/admin/consumers" || path.starts_with("/admin/consumers/") ||
           path == "/admin/audit";
}

std::string admin_actor(std::string_view token) {
    if (token.empty()) return "admin:open";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string actor = "admin:";
    for (int i = 0; i < 6; ++i) {
        actor += hex[digest[i] >> 4];
        actor += hex[digest[i] & 0xf];
    }
    return actor;
}

http::Task<void> serve_consumers(gateway::Gateway& gateway, http::Request& request,
                                 std::string_view target, http::RequestBody& body,
                                 http::ResponseWriter& writer, const std::string& actor) {
    auto* catalog = gateway.catalog();
    if (catalog == nullptr) {
        if (body.unread()) writer.close_after();
        co_await send_error(writer, http::make_error(http::ErrorCode::not_found,
                                                     "consumers are managed through the API only "
                                                     "with a store (see docs/consumers.md)"));
        co_return;
    }
    const auto read = co_await body.read();
    if (!read.complete) {
        writer.close_after();
        if (read.refusal) co_await send_error(writer, *read.refusal);
        co_return;
    }
    Call call(gateway, *catalog, request, target, writer, actor);
    const auto path = target.substr(0, target.find('?'));
    const auto method = request.method();
    if (path == "/admin/audit" && method == bhttp::verb::get)
        co_await serve_audit(call);
    else if (path == "/admin/consumers" && method == bhttp::verb::post)
        co_await create_consumer(call);
    else if (path == "/admin/consumers" && method == bhttp::verb::get)
        co_await list_consumers(call);
    else if (path.starts_with("/admin/consumers/") && path.size() > 17)
        co_await serve_consumer(call, path.substr(17));
    else
        co_await fail(call, http::ErrorCode::not_found);
}

}  // namespace llmgw::admin
