// Serves the operator-facing endpoints on the admin listener.
#include "llmgw/admin/admin_handler.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "llmgw/config/config_json.hpp"
#include "llmgw/http/hop_by_hop.hpp"
#include "llmgw/limits/usage_ledger.hpp"
#include "admin_http.hpp"
#include "consumers_api.hpp"
#include "usage_api.hpp"

namespace llmgw::admin {

namespace bhttp = http::beast::http;

bool admin_token_matches(std::string_view configured, std::string_view authorization) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() ||
        !http::iequals(authorization.substr(0, scheme.size()), scheme))
        return false;
    const auto presented = authorization.substr(scheme.size());
    // Comparing digests keeps the time independent of both the contents and the lengths.
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(configured.data()), configured.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

namespace {

std::string backends_json(gateway::Gateway& gateway) {
    static constexpr const char* circuit_names[] = {"closed", "half_open", "open"};
    const auto now = std::chrono::steady_clock::now();
    nlohmann::json backends = nlohmann::json::array();
    const auto snapshot = gateway.snapshot();
    for (std::size_t b = 0; b < snapshot->backends().size(); ++b) {
        auto& backend = snapshot->backend(b);
        nlohmann::json endpoints = nlohmann::json::array();
        for (std::size_t i = 0; i < backend.size(); ++i) {
            auto& state = backend.endpoint(i);
            endpoints.push_back(
                {{"url", state.endpoint.url},
                 {"weight", state.endpoint.weight},
                 {"healthy", state.healthy.load()},
                 {"circuit", circuit_names[static_cast<int>(state.breaker.state(now))]},
                 {"in_flight", state.in_flight.load()}});
        }
        backends.push_back({{"name", backend.config().name},
                            {"in_flight", backend.in_flight.load()},
                            {"health_checked", backend.config().health_check.has_value()},
                            {"endpoints", std::move(endpoints)}});
    }
    return nlohmann::json{{"backends", std::move(backends)}}.dump();
}




struct UsageQuery {
    std::string consumer, from, to;
};

std::optional<UsageQuery> usage_query(std::string_view target) {
    UsageQuery query{query_parameter(target, "consumer"), query_parameter(target, "from"),
                     query_parameter(target, "to")};
    const auto today = limits::UsageLedger::day_of(std::chrono::system_clock::now());
    if (query.from.empty()) query.from = today;
    if (query.to.empty()) query.to = today;
    if (query.consumer.empty() || !is_date(query.from) || !is_date(query.to)) return std::nullopt;
    return query;
}

std::string usage_json(const UsageQuery& query, const std::vector<limits::DayUsage>& usage) {
    nlohmann::json days = nlohmann::json::array();
    std::uint64_t requests = 0, prompt = 0, completion = 0, cached = 0, cost = 0;
    // Money is kept in nano-units of `prices` and shown in their unit.
    const auto money = [](std::uint64_t nano) { return static_cast<double>(nano) / 1e9; };
    for (const auto& day : usage) {
        days.push_back({{"day", day.day},
                        {"requests", day.requests},
                        {"prompt_tokens", day.prompt_tokens},
                        {"completion_tokens", day.completion_tokens},
                        {"estimated_requests", day.estimated_requests},
                        {"cached", day.cached},
                        {"cost", money(day.cost)}});
        cost += day.cost;
        requests += day.requests;
        prompt += day.prompt_tokens;
        completion += day.completion_tokens;
        cached += day.cached;
    }
    return nlohmann::json{{"consumer", query.consumer},
                          {"from", query.from},
                          {"to", query.to},
                          {"days", days},
                          {"total",
                           {{"requests", requests},
                            {"prompt_tokens", prompt},
                            {"completion_tokens", completion},
                            {"cached", cached},
                            {"cost", money(cost)}}}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// DELETE /admin/cache[?route=NAME]: every entry, or one route's, in the configured store.
http::Task<void> purge_cache(gateway::Gateway& gateway, const std::string& route,
                             http::ResponseWriter& writer) {
    const auto snapshot = gateway.snapshot();
    const auto& routes = snapshot->config().routes;
    if (!route.empty() && std::none_of(routes.begin(), routes.end(), [&](const auto& r) {
            return r.name == route && r.cache.has_value();
        })) {
        co_await writer.send_error(http::make_error(http::ErrorCode::unknown_cached_route), "");
        co_return;
    }
    const auto only = route.empty() ? std::nullopt : std::optional<std::string>(route);
    std::size_t purged = gateway.cache().memory.purge(only);
    auto* redis = gateway.redis_cache();
    if (redis != nullptr && gateway.startup_config().cache.store == config::CacheConfig::Store::redis) {
        const auto removed = co_await redis->purge(only);
        if (!removed) {
            const auto error = http::make_error(
                http::ErrorCode::cache_unavailable,
                "Redis did not answer; the cache may be partly purged");
            co_await writer.send_error(error, "");
            co_return;
        }
        purged += *removed;
    }
    http::ResponseHead head;
    head.result(bhttp::status::ok);
    head.set(bhttp::field::content_type, "application/json");
    const nlohmann::json body = {{"purged", purged},
                                 {"route", only ? nlohmann::json(*only) : nlohmann::json()}};
    co_await writer.send_complete(head, body.dump());
}


http::Task<void> serve_readyz(gateway::Gateway& gateway, http::ResponseWriter& writer) {
    const bool draining = gateway.drain().draining();
    const bool ready = !draining && gateway.readiness().ready();
    const auto* catalog = gateway.catalog();
    const auto* status = ready      ? R"({"status":"ready"})"
                         : draining ? R"({"status":"draining"})"
                         : catalog != nullptr && !catalog->loaded() ? R"({"status":"waiting_for_store"})"
                                    : R"({"status":"waiting_for_redis"})";
    co_await send_json(writer, status,
                       ready ? bhttp::status::ok : bhttp::status::service_unavailable);
}

http::Task<void> serve_usage(gateway::Gateway& gateway, std::string_view target,
                             http::ResponseWriter& writer) {
    const auto query = usage_query(target);
    if (!query) {
        co_await writer.send_error(http::make_error(http::ErrorCode::invalid_usage_query), "");
        co_return;
    }
    if (auto* catalog = gateway.catalog()) {
        // The ledger is the record of what is billed: with a store, usage comes from it.
        const auto range = ledger_query(query->from, query->to, query->consumer);
        const auto group_by = query_parameter(target, "group_by");
        co_await serve_ledger_usage(*catalog, range, group_by, writer);
        co_return;
    }
    auto* redis = gateway.redis_usage();
    if (redis == nullptr) {
        const auto usage = gateway.usage().query(query->consumer, query->from, query->to);
        co_await send_json(writer, usage_json(*query, usage));
        co_return;
    }
    // With Redis, usage from every instance is there.
    auto usage = co_await redis->query(query->consumer, query->from, query->to);
    if (usage)
        co_await send_json(writer, usage_json(*query, *usage));
    else
        co_await writer.send_error(http::make_error(http::ErrorCode::usage_unavailable), "");
}

http::Task<void> serve_config(gateway::Gateway& gateway, http::ResponseWriter& writer) {
    const auto snapshot = gateway.snapshot();
    const nlohmann::json body = {{"version", snapshot->version()},
                                 {"config", config::to_redacted_json(snapshot->config())}};
    co_await send_json(writer, body.dump(2));
}

http::Task<void> serve_reload(gateway::Gateway& gateway, http::ResponseWriter& writer) {
    const auto outcome = gateway.reload();
    if (!outcome.ok) {
        const auto error = http::make_error(
            http::ErrorCode::invalid_config,
            "reload refused, the running configuration stays: " + outcome.error);
        co_await writer.send_error(error, "");
        co_return;
    }
    const nlohmann::json body = {{"reloaded", true},
                                 {"version", outcome.version},
                                 {"restart_required", outcome.restart_required}};
    co_await send_json(writer, body.dump());
}

// The /admin/* calls, once the admin token was checked.
http::Task<void> serve_admin_call(gateway::Gateway& gateway, const http::Request& request,
                                  std::string_view target, http::ResponseWriter& writer) {
    const auto path = target.substr(0, target.find('?'));
    const auto method = request.method();
    const bool read_only = method == bhttp::verb::get || method == bhttp::verb::head;
    if (path == "/admin/usage" && read_only)
        co_await serve_usage(gateway, target, writer);
    else if (path == "/admin/usage/export" && read_only)
        co_await serve_usage_export(gateway.catalog(), target, writer);
    else if (path == "/admin/config" && read_only)
        co_await serve_config(gateway, writer);
    else if (path == "/admin/reload" && method == bhttp::verb::post)
        co_await serve_reload(gateway, writer);
    else if (path == "/admin/cache" && method == bhttp::verb::delete_)
        co_await purge_cache(gateway, query_parameter(target, "route"), writer);
    else if (path == "/admin/backends" && read_only)
        co_await send_json(writer, backends_json(gateway));
    else
        co_await writer.send_error(http::make_error(http::ErrorCode::not_found), "");
}

http::Task<void> serve(gateway::Gateway& gateway, http::Request& request,
                       http::RequestBody& body, http::ResponseWriter& writer) {
    const auto target = std::string_view(request.target());
    const auto path = target.substr(0, target.find('?'));
    const bool read_only =
        request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
    // The token of the current config: a reload can rotate it.
    const auto admin_token = gateway.snapshot()->config().admin.token;
    const bool authorized = admin_token.empty() ||
                            admin_token_matches(admin_token, request[bhttp::field::authorization]);
    // Only the consumer calls read a body: one sent elsewhere is never read, and the
    // connection closes after the answer (it could not be told from the next request).
    if (body.unread() && !(authorized && is_consumers_call(path))) writer.close_after();
    if (path == "/metrics" && read_only) {
        http::ResponseHead head;
        head.result(bhttp::status::ok);
        head.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        co_await writer.send_complete(head, gateway.metrics().serialize());
    } else if (path == "/healthz" && read_only) {
        co_await send_json(writer, R"({"status":"ok"})");
    } else if (path == "/readyz" && read_only) {
        co_await serve_readyz(gateway, writer);
    } else if (path.starts_with("/admin/") && !authorized) {
        co_await writer.send_error(http::make_error(http::ErrorCode::invalid_admin_token), "");
    } else if (is_consumers_call(path)) {
        co_await serve_consumers(gateway, request, target, body, writer, admin_actor(admin_token));
    } else {
        co_await serve_admin_call(gateway, request, target, writer);
    }
}

}  // namespace

http::RequestHandler make_admin_handler(gateway::Gateway& gateway) {
    return [&gateway](http::Request& request, const std::string&, http::ResponseWriter& writer,
                      http::RequestBody& body) -> http::Task<void> {
        co_await serve(gateway, request, body, writer);
    };
}

}  // namespace llmgw::admin
