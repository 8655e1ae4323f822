// Parses tiers, consumers and JWT issuers; plaintext keys exist only while they are hashed.
#include "auth_sections.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <set>

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
        quota.expect_keys(
            {"requests_per_day", "requests_per_month", "tokens_per_day", "tokens_per_month"});
        for (const auto& key : quota_keys) {
            if (!quota.has(key.name)) continue;
            const auto amount = quota[key.name].as_uint(1, max_limit_amount);
            limits.push_back(
                Limit{key.unit, Limit::Kind::quota, amount, key.period, 0, key.window});
        }
    }
    return limits;
}

}  // namespace

std::vector<Tier> parse_tiers(const YamlNode& node) {
    std::vector<Tier> tiers;
    node.for_each_entry([&](const std::string& name, const YamlNode& body) {
        Tier tier;
        tier.name = name;
        if (!body.is_null()) {
            body.expect_keys({"rate", "quota"});
            tier.limits = parse_limits(body);
        }
        tiers.push_back(std::move(tier));
    });
    return tiers;
}

std::vector<Consumer> parse_consumers(const YamlNode& node, const std::vector<Tier>& tiers,
                                      const std::vector<Route>& routes) {
    std::vector<Consumer> consumers;
    std::set<std::string> names;
    std::vector<std::array<unsigned char, 32>> all_digests;
    node.for_each_item([&](const YamlNode& item) {
        item.expect_keys({"name", "tier", "keys", "routes"});
        Consumer consumer;
        if (!item.has("name")) item.fail("missing required key \"name\"");
        consumer.name = item["name"].as_string();
        if (consumer.name.empty()) item["name"].fail("must not be empty");
        // Those names are how JWT subjects and unauthenticated requests are counted.
        if (consumer.name == "anonymous" || consumer.name.rfind("jwt:", 0) == 0)
            item["name"].fail("\"anonymous\" and names starting with \"jwt:\" are reserved");
        if (!names.insert(consumer.name).second)
            item["name"].fail("duplicate consumer \"" + consumer.name + "\"");
        if (!item.has("tier")) item.fail("missing required key \"tier\"");
        consumer.tier = item["tier"].as_string();
        require_tier(item["tier"], consumer.tier, tiers);
        if (!item.has("keys")) item.fail("missing required key \"keys\"");
        item["keys"].for_each_item([&](const YamlNode& key) {
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
            for (const auto& other : all_digests)
                if (CRYPTO_memcmp(other.data(), api_key.sha256.data(), other.size()) == 0)
                    key.fail("this key is listed twice");
            all_digests.push_back(api_key.sha256);
            consumer.keys.push_back(api_key);
        });
        if (consumer.keys.empty()) item["keys"].fail("needs at least one key");
        if (item.has("routes")) {
            consumer.routes = string_list(item["routes"]);
            for (const auto& name : *consumer.routes)
                if (std::none_of(routes.begin(), routes.end(),
                                 [&](const Route& r) { return r.name == name; }))
                    item["routes"].fail("unknown route \"" + name + "\"");
        }
        consumers.push_back(std::move(consumer));
    });
    return consumers;
}

std::vector<JwtIssuer> parse_jwt(const YamlNode& node, const std::vector<Tier>& tiers) {
    std::vector<JwtIssuer> issuers;
    node.for_each_item([&](const YamlNode& item) {
        item.expect_keys({"issuer", "audiences", "jwks_file", "jwks_url", "secret", "algorithms",
                          "consumer_claim", "tier_claim", "default_tier", "leeway",
                          "jwks_refresh"});
        JwtIssuer issuer;
        if (!item.has("issuer")) item.fail("missing required key \"issuer\"");
        issuer.issuer = item["issuer"].as_string();
        for (const auto& other : issuers)
            if (other.issuer == issuer.issuer) item["issuer"].fail("issuer listed twice");
        if (!item.has("audiences")) item.fail("missing required key \"audiences\"");
        issuer.audiences = string_list(item["audiences"]);
        if (issuer.audiences.empty()) item["audiences"].fail("needs at least one audience");
        const int sources =
            int(item.has("jwks_file")) + int(item.has("jwks_url")) + int(item.has("secret"));
        if (sources != 1) item.fail("give exactly one of jwks_file, jwks_url or secret");
        if (item.has("jwks_file")) issuer.jwks_file = item["jwks_file"].as_string();
        if (item.has("jwks_url")) {
            issuer.jwks_url = item["jwks_url"].as_string();
            const bool https = issuer.jwks_url.rfind("https://", 0) == 0;
            const bool loopback_http = issuer.jwks_url.rfind("http://127.", 0) == 0 ||
                                       issuer.jwks_url.rfind("http://localhost", 0) == 0 ||
                                       issuer.jwks_url.rfind("http://[::1]", 0) == 0;
            // Keys fetched without TLS could be swapped by anyone on the path.
            if (!https && !loopback_http)
                item["jwks_url"].fail(
                    "expected an https:// URL (plain http only on loopback addresses)");
        }
        if (item.has("secret")) {
            issuer.secret = item["secret"].as_string();
            if (issuer.secret.size() < 32)
                item["secret"].fail("an HMAC secret needs at least 32 bytes");
        }
        if (!item.has("algorithms")) item.fail("missing required key \"algorithms\"");
        issuer.algorithms = string_list(item["algorithms"]);
        if (issuer.algorithms.empty()) item["algorithms"].fail("needs at least one algorithm");
        for (const auto& algorithm : issuer.algorithms) {
            if (!supported_algorithms().count(algorithm))
                item["algorithms"].fail(
                    "unsupported algorithm \"" + algorithm +
                    "\" (RS*, PS*, ES*, EdDSA, or HS* with a secret; never none)");
            // Keys and shared secrets never mix: that is what makes HS/RS confusion impossible.
            if (is_hmac(algorithm) != !issuer.secret.empty())
                item["algorithms"].fail(is_hmac(algorithm)
                                            ? "HS algorithms need `secret` (and nothing else)"
                                            : "with `secret` only HS256/HS384/HS512 are allowed");
        }
        if (item.has("consumer_claim")) issuer.consumer_claim = item["consumer_claim"].as_string();
        if (item.has("tier_claim")) issuer.tier_claim = item["tier_claim"].as_string();
        if (item.has("default_tier")) {
            issuer.default_tier = item["default_tier"].as_string();
            require_tier(item["default_tier"], issuer.default_tier, tiers);
        }
        if (item.has("leeway")) issuer.leeway = item["leeway"].as_duration();
        if (item.has("jwks_refresh")) {
            issuer.jwks_refresh = item["jwks_refresh"].as_duration();
            if (issuer.jwks_refresh < std::chrono::seconds(1))
                item["jwks_refresh"].fail("must be at least 1s");
        }
        issuers.push_back(std::move(issuer));
    });
    return issuers;
}

}  // namespace llmgw::config
