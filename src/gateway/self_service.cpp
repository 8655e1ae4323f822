// GET /gateway/me, POST /gateway/keys, DELETE /gateway/keys/{id}: every change is scoped to
// the authenticated consumer, so no path or body can name another consumer's keys.
#include "self_service.hpp"

#include <nlohmann/json.hpp>

#include "llmgw/accounts/key_changes.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"
#include "llmgw/limits/usage_ledger.hpp"

namespace llmgw::gateway {

namespace bhttp = http::beast::http;

namespace {

http::Task<void> send_json(http::ClientWriter& client, bhttp::status status, const std::string& body) {
    http::ResponseHead head;
    head.result(status);
    head.set(bhttp::field::content_type, "application/json");
    head.set(bhttp::field::content_length, std::to_string(body.size()));
    if (!co_await client.send_head(head, {}, http::AnswerSink::Framing::content_length,
                                   http::AnswerSink::HeadTiming::with_first_piece))
        co_return;
    if (!body.empty() && !co_await client.send_body(body)) co_return;
    co_await client.finish();
}

nlohmann::json totals(const std::vector<store::LedgerRow>& rows, const std::string& from) {
    store::LedgerRow sum;
    for (const auto& row : rows)
        if (row.day >= from) sum.add(row);
    return {{"requests", sum.requests},
            {"prompt_tokens", sum.prompt_tokens},
            {"completion_tokens", sum.completion_tokens},
            {"cached_tokens", sum.cached_tokens}};
}

// Made outside the coroutine: GCC 12 destroys an aggregate's temporaries twice when it is
// initialised in a coroutine's body.
store::LedgerQuery month_so_far(const std::string& from, const std::string& to,
                                const std::string& account) {
    return {from, to, account};
}

// Each limit of the tier: its amount, what is left now and the seconds until it is whole
// again (a bucket full, a window over).
http::Task<nlohmann::json> limits_left(const std::string& account, const config::Tier* tier,
                                       limits::Admission& admission) {
    nlohmann::json out = nlohmann::json::array();
    if (tier == nullptr || tier->limits.empty()) co_return out;
    const auto states = co_await admission.remaining(account, *tier);
    for (std::size_t i = 0; i < tier->limits.size(); ++i) {
        const auto& limit = tier->limits[i];
        nlohmann::json item = {{"limit", limits::limit_name(limit)}, {"amount", limit.amount}};
        if (i < states.size()) {
            item["remaining"] = states[i].remaining;
            item["reset_seconds"] = states[i].reset.count();
        }
        out.push_back(std::move(item));
    }
    co_return out;
}

// The consumer, its tier's limits and what is left of them, and its usage today and this
// month (from the ledger, what is not yet written included).
http::Task<void> serve_me(RequestContext& context, http::ClientWriter& client, store::Catalog& catalog,
                          limits::Admission& admission) {
    const auto& identity = *context.identity;
    const auto today = limits::UsageLedger::day_of(std::chrono::system_clock::now());
    const auto month_start = today.substr(0, 8) + "01";
    std::vector<store::LedgerRow> rows;
    const auto query = month_so_far(month_start, today, identity.account);
    auto error = co_await accounts::run_store_job(catalog, [&](store::Store& store) {
        catalog.write_ledger(store);
        rows = store.read_usage(query, std::nullopt, 100000);
    });
    if (error) {
        co_await client.send_error(*error, context.record.request_id);
        co_return;
    }
    auto limits = co_await limits_left(identity.account, context.snapshot->tier(identity.tier),
                                       admission);
    const nlohmann::json body = {{"consumer", identity.consumer},
                                 {"tier", identity.tier},
                                 {"limits", std::move(limits)},
                                 {"usage", {{"today", totals(rows, today)}, {"month", totals(rows, month_start)}}}};
    co_await send_json(client, bhttp::status::ok, body.dump());
}

http::Task<void> create_own_key(RequestContext& context, http::RequestBody& body,
                                http::ClientWriter& client, store::Catalog& catalog) {
    const auto read = co_await body.read();
    if (!read.complete) {
        client.close_after();
        if (read.refusal) co_await client.send_error(*read.refusal, context.record.request_id);
        co_return;
    }
    const auto parsed = nlohmann::json::parse(context.request.body().empty() ? std::string("{}")
                                                                             : context.request.body(),
                                              nullptr, false);
    if (!parsed.is_object() || (parsed.contains("label") && !parsed["label"].is_string())) {
        co_await client.send_error(http::make_error(http::ErrorCode::invalid_admin_request,
                                                    "the body is {\"label\": \"...\"} or empty"),
                                   context.record.request_id);
        co_return;
    }
    const auto& identity = *context.identity;
    const auto max = context.snapshot->config().self_service.max_keys_per_consumer;
    const auto created = co_await accounts::create_key(catalog, identity.consumer,
                                                       parsed.value("label", std::string()),
                                                       std::nullopt, max, "consumer:" + identity.consumer);
    if (const auto* error = std::get_if<http::GatewayError>(&created)) {
        co_await client.send_error(*error, context.record.request_id);
        co_return;
    }
    const auto& made = std::get<store::NewKey>(created);
    const nlohmann::json answer = {{"id", made.stored.id},
                                   {"key", made.key},
                                   {"prefix", made.stored.prefix},
                                   {"label", made.stored.label}};
    co_await send_json(client, bhttp::status::created, answer.dump());
}

}  // namespace

bool is_self_service_path(std::string_view path) {
    return path == "/gateway/me" || path == "/gateway/keys" || path.starts_with("/gateway/keys/");
}

http::Task<void> serve_self_service(RequestContext& context, http::RequestBody& body,
                                    http::ClientWriter& client, store::Catalog& catalog,
                                    limits::Admission& admission) {
    const auto& identity = *context.identity;
    const auto method = context.request.method();
    const std::string_view path = context.record.path;
    const bool creates = path == "/gateway/keys" && method == bhttp::verb::post;
    // Only a key's creation reads a body; one left unread closes the connection.
    if (body.unread() && !(creates && identity.from_store())) client.close_after();
    if (!identity.from_store()) {
        auto error = http::make_error(http::ErrorCode::consumer_in_config,
                                      "only consumers of the store manage their keys here");
        error.status = 403;
        co_await client.send_error(error, context.record.request_id);
    } else if (path == "/gateway/me" && method == bhttp::verb::get) {
        co_await serve_me(context, client, catalog, admission);
    } else if (creates) {
        co_await create_own_key(context, body, client, catalog);
    } else if (path.starts_with("/gateway/keys/") && method == bhttp::verb::delete_) {
        const auto id = std::string(path.substr(14));
        auto error = co_await accounts::revoke_key(catalog, identity.consumer, id,
                                                   "consumer:" + identity.consumer);
        if (error)
            co_await client.send_error(*error, context.record.request_id);
        else
            co_await send_json(client, bhttp::status::no_content, "");
    } else {
        co_await client.send_error(http::make_error(http::ErrorCode::not_found,
                                                    "self-service serves GET /gateway/me, "
                                                    "POST /gateway/keys and DELETE /gateway/keys/{id}"),
                                   context.record.request_id);
    }
}

}  // namespace llmgw::gateway
