// The consumer API's bodies and answers: what is accepted, and which error code a refusal gets.
#include "consumer_requests.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "llmgw/config/units.hpp"

namespace llmgw::admin {

namespace {

http::GatewayError bad_request(std::string message) {
    return http::make_error(http::ErrorCode::invalid_admin_request, std::move(message));
}

std::optional<nlohmann::json> object_of(std::string_view body) {
    if (body.empty()) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    return parsed;
}

// Printable ASCII without spaces or '/', so a name is always one path segment.
bool valid_name(const std::string& name) {
    return !name.empty() && name.size() <= 128 &&
           std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 127 && c != '/'; });
}

std::optional<http::GatewayError> apply_fields(const nlohmann::json& body, const config::Config& config,
                                               store::StoredConsumer& consumer) {
    if (body.contains("tier")) {
        if (!body["tier"].is_string()) return bad_request("tier must be a string");
        const auto tier = body["tier"].get<std::string>();
        if (std::none_of(config.tiers.begin(), config.tiers.end(),
                         [&](const config::Tier& t) { return t.name == tier; }))
            return http::make_error(http::ErrorCode::unknown_tier,
                                    "no tier named \"" + tier + "\" is configured");
        consumer.tier = tier;
    }
    if (body.contains("routes")) {
        const auto& routes = body["routes"];
        if (routes.is_null()) {
            consumer.routes.reset();
        } else {
            if (!routes.is_array()) return bad_request("routes must be a list of route names or null");
            std::vector<std::string> names;
            for (const auto& route : routes) {
                if (!route.is_string()) return bad_request("routes must be a list of route names");
                const auto name = route.get<std::string>();
                if (std::none_of(config.routes.begin(), config.routes.end(),
                                 [&](const config::Route& r) { return r.name == name; }))
                    return bad_request("routes: no route named \"" + name + "\"");
                names.push_back(name);
            }
            consumer.routes = std::move(names);
        }
    }
    if (body.contains("metadata")) {
        if (!body["metadata"].is_object()) return bad_request("metadata must be a JSON object");
        consumer.metadata = body["metadata"].dump();
    }
    if (body.contains("disabled")) {
        if (!body["disabled"].is_boolean()) return bad_request("disabled must be true or false");
        consumer.disabled = body["disabled"].get<bool>();
    }
    return std::nullopt;
}

}  // namespace

Checked<store::StoredConsumer> new_consumer(std::string_view text, const config::Config& config,
                                            store::UnixSeconds now) {
    const auto body = object_of(text);
    if (!body) return bad_request("the body must be a JSON object");
    if (!body->contains("name") || !(*body)["name"].is_string() ||
        !valid_name((*body)["name"].get<std::string>()))
        return bad_request("name must be 1 to 128 printable characters without spaces or '/'");
    if (!body->contains("tier")) return bad_request("tier is required");
    store::StoredConsumer consumer;
    consumer.name = (*body)["name"].get<std::string>();
    if (auto error = apply_fields(*body, config, consumer)) return *error;
    consumer.created_at = consumer.updated_at = now;
    return consumer;
}

std::optional<http::GatewayError> patch_consumer(std::string_view text, const config::Config& config,
                                                 store::StoredConsumer& consumer) {
    const auto body = object_of(text);
    if (!body) return bad_request("the body must be a JSON object");
    for (const auto& [field, value] : body->items())
        if (field != "tier" && field != "routes" && field != "disabled" && field != "metadata")
            return bad_request("only tier, routes, disabled and metadata can change");
    return apply_fields(*body, config, consumer);
}

Checked<KeyRequest> key_request(std::string_view text, store::UnixSeconds now) {
    const auto body = object_of(text);
    if (!body) return bad_request("the body must be a JSON object");
    KeyRequest request;
    if (body->contains("label")) {
        if (!(*body)["label"].is_string() || (*body)["label"].get<std::string>().size() > 200)
            return bad_request("label must be a string of at most 200 characters");
        request.label = (*body)["label"].get<std::string>();
    }
    if (body->contains("expires_at") && !(*body)["expires_at"].is_null()) {
        const auto& value = (*body)["expires_at"];
        const auto at = value.is_string() ? parse_time(value.get<std::string>()) : std::nullopt;
        if (!at || *at <= now) return http::make_error(http::ErrorCode::invalid_expires_at);
        request.expires_at = at;
    }
    return request;
}

Checked<std::chrono::seconds> rotate_request(std::string_view text) {
    const auto body = object_of(text);
    if (!body) return bad_request("the body must be a JSON object");
    if (!body->contains("grace")) return std::chrono::seconds(std::chrono::hours(1));
    const auto& grace = (*body)["grace"];
    const auto parsed = grace.is_string() ? config::parse_duration(grace.get<std::string>()) : std::nullopt;
    if (!parsed || *parsed > std::chrono::days(365))
        return bad_request("grace must be a duration such as \"30s\", \"15m\" or \"24h\" (at most 365d)");
    return std::chrono::duration_cast<std::chrono::seconds>(*parsed);
}

std::optional<store::UnixSeconds> parse_time(std::string_view text) {
    int year, month, day, hour, minute, second;
    char end = 0;
    if (text.size() != 20 ||
        std::sscanf(std::string(text).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day,
                    &hour, &minute, &second, &end) != 7 ||
        end != 'Z' || hour > 23 || minute > 59 || second > 59)
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(year),
                                           std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return std::nullopt;
    const auto days = std::chrono::sys_days(date).time_since_epoch();
    return std::chrono::duration_cast<std::chrono::seconds>(days).count() + hour * 3600 +
           minute * 60 + second;
}

std::string format_time(store::UnixSeconds seconds) {
    const std::chrono::sys_seconds at{std::chrono::seconds(seconds)};
    const auto day = std::chrono::floor<std::chrono::days>(at);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss time{at - day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return buf;
}

nlohmann::json consumer_json(const store::StoredConsumer& consumer) {
    return {{"name", consumer.name},
            {"tier", consumer.tier},
            {"routes", consumer.routes ? nlohmann::json(*consumer.routes) : nlohmann::json()},
            {"disabled", consumer.disabled},
            {"metadata", nlohmann::json::parse(consumer.metadata, nullptr, false)},
            {"created_at", format_time(consumer.created_at)},
            {"updated_at", format_time(consumer.updated_at)},
            {"source", "store"}};
}

nlohmann::json config_consumer_json(const config::Consumer& consumer) {
    return {{"name", consumer.name},
            {"tier", consumer.tier},
            {"routes", consumer.routes ? nlohmann::json(*consumer.routes) : nlohmann::json()},
            {"disabled", false},
            {"metadata", nlohmann::json::object()},
            {"source", "config"}};
}

nlohmann::json key_json(const store::StoredKey& key) {
    return {{"id", key.id},
            {"prefix", key.prefix},
            {"label", key.label},
            {"created_at", format_time(key.created_at)},
            {"expires_at", key.expires_at ? nlohmann::json(format_time(*key.expires_at)) : nlohmann::json()},
            {"last_used_day", key.last_used_day ? nlohmann::json(*key.last_used_day) : nlohmann::json()}};
}

std::string make_cursor(const std::string& last_name) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string cursor = "c1.";
    for (const unsigned char c : last_name) {
        cursor += digits[c >> 4];
        cursor += digits[c & 0xf];
    }
    return cursor;
}

std::optional<std::string> read_cursor(std::string_view cursor) {
    if (!cursor.starts_with("c1.") || cursor.size() % 2 == 0 || cursor.size() < 5) return std::nullopt;
    std::string name;
    for (std::size_t i = 3; i < cursor.size(); i += 2) {
        int value = 0;
        for (const char c : cursor.substr(i, 2)) {
            value <<= 4;
            if (c >= '0' && c <= '9') value |= c - '0';
            else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
            else return std::nullopt;
        }
        name.push_back(static_cast<char>(value));
    }
    return name;
}

}  // namespace llmgw::admin
