// The tables of tiers, consumers and jwt; plaintext keys exist only while they are hashed.
#include "auth_sections.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>

#include "sections.hpp"

namespace llmgw::config {

namespace {

const std::set<std::string>& supported_algorithms() {
    static const std::set<std::string> algorithms = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                     "PS512", "ES256", "ES384", "ES512", "EdDSA",
                                                     "HS256", "HS384", "HS512"};
    return algorithms;
}

bool is_hmac(const std::string& algorithm) {
    return algorithm.rfind("HS", 0) == 0;
}

std::optional<std::array<unsigned char, 32>> parse_hex_digest(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    std::array<unsigned char, 32> digest{};
    for (std::size_t i = 0; i < 32; ++i) {
        unsigned value = 0;
        for (std::size_t j = 0; j < 2; ++j) {
            const char c = hex[2 * i + j];
            value <<= 4;
            if (c >= '0' && c <= '9')
                value |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                value |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                value |= static_cast<unsigned>(c - 'A' + 10);
            else
                return std::nullopt;
        }
        digest[i] = static_cast<unsigned char>(value);
    }
    return digest;
}

std::vector<std::string> string_list(const YamlNode& node) {
    std::vector<std::string> items;
    node.for_each_item([&](const YamlNode& item) { items.push_back(item.as_string()); });
    return items;
}

template <typename S>
using Strings = std::vector<std::string> S::*;

// A list of strings; `what` names an item in "needs at least one ...".
template <typename S>
schema::Field<S> strings(std::string_view name, Strings<S> m, std::string_view what) {
    return schema::member(
        name, m,
        [what](const YamlNode& node) {
            auto items = string_list(node);
            if (items.empty()) node.fail("needs at least one " + std::string(what));
            return items;
        },
        [](const std::vector<std::string>& items) { return items; });
}

}  // namespace

std::array<unsigned char, 32> sha256_of(std::string_view key) {
    std::array<unsigned char, 32> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest.data());
    return digest;
}

void require_tier(const YamlNode& node, const std::string& name, const std::vector<Tier>& tiers) {
    if (std::none_of(tiers.begin(), tiers.end(), [&](const Tier& t) { return t.name == name; }))
        node.fail("unknown tier \"" + name + "\" (define it under tiers)");
}

namespace {

// One key of a tier's `rate` or `quota` mapping and the limit it stands for.
struct LimitKey {
    std::string_view name;
    Limit::Unit unit;
    Duration period;       // rates
    Limit::Window window;  // quotas
};

// A tier's limits are kept in this order whatever the file's order: rates before quotas,
// requests before tokens, shorter periods first (the order of refused_by and the states).
constexpr std::array<LimitKey, 4> rate_keys = {{
    {"requests_per_second", Limit::Unit::requests, std::chrono::seconds(1), Limit::Window::day},
    {"requests_per_minute", Limit::Unit::requests, std::chrono::minutes(1), Limit::Window::day},
    {"tokens_per_second", Limit::Unit::tokens, std::chrono::seconds(1), Limit::Window::day},
    {"tokens_per_minute", Limit::Unit::tokens, std::chrono::minutes(1), Limit::Window::day},
}};
constexpr std::array<LimitKey, 4> quota_keys = {{
    {"requests_per_day", Limit::Unit::requests, Duration{}, Limit::Window::day},
    {"requests_per_month", Limit::Unit::requests, Duration{}, Limit::Window::month},
    {"tokens_per_day", Limit::Unit::tokens, Duration{}, Limit::Window::day},
    {"tokens_per_month", Limit::Unit::tokens, Duration{}, Limit::Window::month},
}};

// Buckets are doubles: amounts stay far below 2^53, where they would stop counting exactly.
constexpr std::uint64_t max_limit_amount = 1'000'000'000'000;

// Money budgets: quota.cost_per_day|month, in the unit of `prices`, kept in nano-units (so
// that a token's price, a fraction of a millionth, still counts); 10^6 × 10^9 < 2^53.
struct CostKey {
    std::string_view name;
    Limit::Window window;
};
constexpr std::array<CostKey, 2> cost_keys = {{
    {"cost_per_day", Limit::Window::day},
    {"cost_per_month", Limit::Window::month},
}};
constexpr double max_cost_amount = 1e6;
constexpr double nano_per_unit = 1e9;

void parse_cost_quotas(const YamlNode& quota, std::vector<Limit>& limits) {
    for (const auto& key : cost_keys) {
        if (!quota.has(key.name)) continue;
        const double amount = quota[key.name].as_number(1e-9, max_cost_amount);
        limits.push_back(Limit{Limit::Unit::cost, Limit::Kind::quota,
                               static_cast<std::uint64_t>(std::llround(amount * nano_per_unit)),
                               Duration{}, 0, key.window});
    }
}

std::vector<Limit> parse_limits(const YamlNode& body) {
    std::vector<Limit> limits;
    if (body.has("rate")) {
        const auto rate = body["rate"];
        rate.expect_keys({"requests_per_second", "requests_per_minute", "tokens_per_second",
                          "tokens_per_minute", "burst"});
        for (const auto& key : rate_keys) {
            if (!rate.has(key.name)) continue;
            const auto amount = rate[key.name].as_uint(1, max_limit_amount);
            limits.push_back(
                Limit{key.unit, Limit::Kind::rate, amount, key.period, amount, key.window});
        }
        if (rate.has("burst")) {
            const auto burst = rate["burst"].as_uint(1, max_limit_amount);
            bool applied = false;
            for (auto& limit : limits) {
                if (limit.unit != Limit::Unit::requests) continue;
                limit.burst = burst;
                applied = true;
            }
            if (!applied)
                rate["burst"].fail(
                    "needs requests_per_second or requests_per_minute (burst is the capacity of "
                    "the request bucket)");
        }
    }
    if (body.has("quota")) {
        const auto quota = body["quota"];
        quota.expect_keys({"requests_per_day", "requests_per_month", "tokens_per_day",
                           "tokens_per_month", "cost_per_day", "cost_per_month"});
        for (const auto& key : quota_keys) {
            if (!quota.has(key.name)) continue;
            const auto amount = quota[key.name].as_uint(1, max_limit_amount);
            limits.push_back(
                Limit{key.unit, Limit::Kind::quota, amount, key.period, 0, key.window});
        }
        parse_cost_quotas(quota, limits);
    }
    return limits;
}

}  // namespace

namespace schema {

namespace {

json tier_json(const Tier& tier) {
    json rate = json::object();
    json quota = json::object();
    for (const auto& limit : tier.limits) {
        if (limit.unit == Limit::Unit::cost) {
            const char* per = limit.window == Limit::Window::day ? "day" : "month";
            quota[std::string("cost_per_") + per] =
                static_cast<double>(limit.amount) / nano_per_unit;
            continue;
        }
        const char* unit = limit.unit == Limit::Unit::requests ? "requests" : "tokens";
        if (limit.kind == Limit::Kind::rate) {
            const char* per = limit.period == std::chrono::seconds(1) ? "second" : "minute";
            rate[std::string(unit) + "_per_" + per] = limit.amount;
            if (limit.burst != limit.amount) rate["burst"] = limit.burst;
        } else {
            const char* per = limit.window == Limit::Window::day ? "day" : "month";
            quota[std::string(unit) + "_per_" + per] = limit.amount;
        }
    }
    json out = json::object();
    if (!rate.empty()) out["rate"] = std::move(rate);
    if (!quota.empty()) out["quota"] = std::move(quota);
    out["priority"] = tier.priority;
    out["weight"] = tier.weight;
    if (tier.max_concurrent > 0) out["max_concurrent"] = tier.max_concurrent;
    return out;
}

// How the tier's requests wait in a backend's queue and how many one consumer runs at once.
void read_scheduling(const YamlNode& body, Tier& tier) {
    if (body.has("priority")) tier.priority = static_cast<unsigned>(body["priority"].as_uint(0, 1000));
    if (body.has("weight")) tier.weight = static_cast<unsigned>(body["weight"].as_uint(1, 1000));
    if (body.has("max_concurrent"))
        tier.max_concurrent = static_cast<unsigned>(body["max_concurrent"].as_uint(1, 1'000'000));
}

std::vector<Tier> read_tiers(const YamlNode& node) {
    std::vector<Tier> tiers;
    node.for_each_entry([&](const std::string& name, const YamlNode& body) {
        Tier tier;
        tier.name = name;
        if (!body.is_null()) {
            body.expect_keys({"rate", "quota", "priority", "weight", "max_concurrent"});
            tier.limits = parse_limits(body);
            read_scheduling(body, tier);
        }
        tiers.push_back(std::move(tier));
    });
    return tiers;
}

}  // namespace

// tiers.<name>.rate / .quota: the key tables above (rate_keys, quota_keys) are the schema.
Field<Config> tiers_field() {
    auto field = member("tiers", &Config::tiers, read_tiers, [](const std::vector<Tier>& tiers) {
        json out = json::object();
        for (const auto& tier : tiers) out[tier.name] = tier_json(tier);
        return out;
    });
    field.nested_paths = [](const std::string& path, std::vector<std::string>& out) {
        for (const auto& key : rate_keys)
            out.push_back(path + ".<name>.rate." + std::string(key.name));
        out.push_back(path + ".<name>.rate.burst");
        for (const auto& key : quota_keys)
            out.push_back(path + ".<name>.quota." + std::string(key.name));
        for (const auto& key : cost_keys)
            out.push_back(path + ".<name>.quota." + std::string(key.name));
        for (const auto* key : {"priority", "weight", "max_concurrent"})
            out.push_back(path + ".<name>." + key);
    };
    return field;
}

namespace {

// Those names are how JWT subjects and unauthenticated requests are counted; the names of
// consumers read before this one are in `config`.
std::string consumer_name_problem(const std::string& name, const Config& config) {
    if (name.empty()) return "must not be empty";
    if (name == "anonymous" || name.rfind("jwt:", 0) == 0)
        return "\"anonymous\" and names starting with \"jwt:\" are reserved";
    for (const auto& other : config.consumers)
        if (other.name == name) return "duplicate consumer \"" + name + "\"";
    return "";
}

ApiKey read_key(const YamlNode& key) {
    key.expect_keys({"sha256", "env"});
    if (key.has("sha256") == key.has("env")) key.fail("give exactly one of sha256 or env");
    ApiKey api_key;
    if (key.has("sha256")) {
        const auto digest = parse_hex_digest(key["sha256"].as_string());
        if (!digest)
            key["sha256"].fail("expected 64 hexadecimal digits (llmgw keygen prints them)");
        api_key.sha256 = *digest;
    } else {
        const auto variable = key["env"].as_string();
        const char* value = std::getenv(variable.c_str());
        if (value == nullptr || *value == '\0')
            key["env"].fail("environment variable " + variable + " is not set or empty");
        api_key.sha256 = sha256_of(value);
    }
    return api_key;
}

bool same_digest(const ApiKey& a, const ApiKey& b) {
    return CRYPTO_memcmp(a.sha256.data(), b.sha256.data(), a.sha256.size()) == 0;
}

// keys[]: each key once across all consumers; shown only as their count.
Field<Consumer> consumer_keys() {
    Field<Consumer> field{
        "keys",
        [](const YamlNode& node, Consumer& consumer, const Config& config) {
            node.for_each_item([&](const YamlNode& item) {
                const auto key = read_key(item);
                bool listed = std::any_of(consumer.keys.begin(), consumer.keys.end(),
                                          [&](const ApiKey& k) { return same_digest(k, key); });
                for (const auto& other : config.consumers)
                    for (const auto& k : other.keys) listed = listed || same_digest(k, key);
                if (listed) item.fail("this key is listed twice");
                consumer.keys.push_back(key);
            });
            if (consumer.keys.empty()) node.fail("needs at least one key");
        },
        [](const Consumer& consumer, const Config&) { return json(consumer.keys.size()); },
        [](const Consumer& a, const Consumer& b) { return a.keys == b.keys; }};
    field.nested_paths = [](const std::string& path, std::vector<std::string>& out) {
        out.push_back(path + "[].sha256");
        out.push_back(path + "[].env");
    };
    return std::move(field).required();
}

// routes: an allow-list of route names (routes are read before consumers).
Field<Consumer> consumer_routes() {
    return Field<Consumer>{
        "routes",
        [](const YamlNode& node, Consumer& consumer, const Config& config) {
            consumer.routes = string_list(node);
            for (const auto& name : *consumer.routes)
                if (std::none_of(config.routes.begin(), config.routes.end(),
                                 [&](const Route& r) { return r.name == name; }))
                    node.fail("unknown route \"" + name + "\"");
        },
        [](const Consumer& consumer, const Config&) {
            return consumer.routes ? json(*consumer.routes) : json(json::value_t::discarded);
        },
        [](const Consumer& a, const Consumer& b) { return a.routes == b.routes; }};
}

}  // namespace

const Section<Consumer>& consumer_section() {
    using S = Consumer;
    Field<S> name = text("name", &S::name);
    name.read = [](const YamlNode& node, S& consumer, const Config& config) {
        consumer.name = node.as_string();
        if (auto problem = consumer_name_problem(consumer.name, config); !problem.empty())
            node.fail(problem);
    };
    Field<S> tier = text("tier", &S::tier);
    tier.read = [](const YamlNode& node, S& consumer, const Config& config) {
        consumer.tier = node.as_string();
        require_tier(node, consumer.tier, config.tiers);
    };
    static const Section<S> section{{std::move(name).required(), std::move(tier).required(),
                                     consumer_keys(), consumer_routes()}};
    return section;
}

namespace {

// Keys fetched without TLS could be swapped by anyone on the path.
std::string jwks_url_problem(const std::string& url) {
    const bool https = url.rfind("https://", 0) == 0;
    const bool loopback_http = url.rfind("http://127.", 0) == 0 ||
                               url.rfind("http://localhost", 0) == 0 ||
                               url.rfind("http://[::1]", 0) == 0;
    return https || loopback_http ? ""
                                  : "expected an https:// URL (plain http only on loopback "
                                    "addresses)";
}

// One source of keys; keys and shared secrets never mix, which makes HS/RS confusion impossible.
void check_issuer(const YamlNode& node, JwtIssuer& issuer, const Config&) {
    const int sources =
        int(node.has("jwks_file")) + int(node.has("jwks_url")) + int(node.has("secret"));
    if (sources != 1) node.fail("give exactly one of jwks_file, jwks_url or secret");
    for (const auto& algorithm : issuer.algorithms) {
        if (!supported_algorithms().count(algorithm))
            node["algorithms"].fail("unsupported algorithm \"" + algorithm +
                                    "\" (RS*, PS*, ES*, EdDSA, or HS* with a secret; never none)");
        if (is_hmac(algorithm) != !issuer.secret.empty())
            node["algorithms"].fail(is_hmac(algorithm)
                                        ? "HS algorithms need `secret` (and nothing else)"
                                        : "with `secret` only HS256/HS384/HS512 are allowed");
    }
}

// A string shown only when set (jwks_file, jwks_url: exactly one source is).
template <typename S>
Field<S> source(std::string_view name, std::string S::*m, Rule<std::string> rule = {}) {
    auto field = text(name, m, std::move(rule));
    field.show = [m](const S& s, const Config&) {
        return (s.*m).empty() ? json(json::value_t::discarded) : json(s.*m);
    };
    return field;
}

}  // namespace

const Section<JwtIssuer>& jwt_section() {
    using S = JwtIssuer;
    Field<S> issuer = text("issuer", &S::issuer);
    issuer.read = [](const YamlNode& node, S& out, const Config& config) {
        out.issuer = node.as_string();
        for (const auto& other : config.jwt)
            if (other.issuer == out.issuer) node.fail("issuer listed twice");
    };
    Field<S> default_tier = text("default_tier", &S::default_tier);
    default_tier.read = [](const YamlNode& node, S& out, const Config& config) {
        out.default_tier = node.as_string();
        require_tier(node, out.default_tier, config.tiers);
    };
    static const Section<S> section{
        {std::move(issuer).required(), strings("audiences", &S::audiences, "audience").required(),
         source("jwks_file", &S::jwks_file), source("jwks_url", &S::jwks_url, jwks_url_problem),
         source("secret", &S::secret,
                [](const std::string& secret) {
                    return secret.size() < 32 ? "an HMAC secret needs at least 32 bytes" : "";
                })
             .secret(),
         strings("algorithms", &S::algorithms, "algorithm").required(),
         text("consumer_claim", &S::consumer_claim), text("tier_claim", &S::tier_claim),
         std::move(default_tier), duration("leeway", &S::leeway),
         duration("jwks_refresh", &S::jwks_refresh, at_least(std::chrono::seconds(1)))},
        check_issuer};
    return section;
}

}  // namespace schema

}  // namespace llmgw::config
