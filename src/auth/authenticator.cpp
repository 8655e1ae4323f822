// API-key and JWT authentication, and the route/tier allow-lists.
#include "llmgw/auth/authenticator.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "llmgw/auth/jwks.hpp"
#include "llmgw/auth/jwt_verifier.hpp"
#include "llmgw/config/loader.hpp"
#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::auth {

namespace {

http::GatewayError unauthorized(http::ErrorCode code, std::string message) {
    return http::make_error(code, std::move(message));
}

// OpenSSL 3's one-shot SHA256() looks the algorithm up by name and makes a context on every
// call, which cost as much as hashing the key: the algorithm is fetched once, and each thread
// keeps its context.
std::string digest_of(std::string_view key) {
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                               EVP_MD_CTX_free);
    std::string digest(SHA256_DIGEST_LENGTH, '\0');
    auto* out = reinterpret_cast<unsigned char*>(digest.data());
    unsigned int length = 0;
    if (sha256 != nullptr && context != nullptr &&
        EVP_DigestInit_ex2(context.get(), sha256, nullptr) == 1 &&
        EVP_DigestUpdate(context.get(), key.data(), key.size()) == 1 &&
        EVP_DigestFinal_ex(context.get(), out, &length) == 1 && length == SHA256_DIGEST_LENGTH)
        return digest;
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), out);
    return digest;
}

// A compact JWS: three base64url parts, the first a JSON object ("eyJ" is base64url of '{"').
bool looks_like_jwt(std::string_view token) {
    return token.rfind("eyJ", 0) == 0 && std::count(token.begin(), token.end(), '.') == 2;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::shared_ptr<const KeySet> initial_keys(const config::JwtIssuer& issuer) {
    if (!issuer.secret.empty())
        return std::make_shared<const KeySet>(KeySet::from_secret(issuer.secret));
    if (!issuer.jwks_url.empty())
        return std::make_shared<const KeySet>();  // fetched by the refresher
    const auto text = read_file(issuer.jwks_file);
    if (text.empty())
        throw config::ConfigError("jwt issuer " + issuer.issuer + ": cannot read jwks_file " +
                                  issuer.jwks_file);
    std::string error;
    auto keys = KeySet::parse(text, &error);
    if (!keys)
        throw config::ConfigError("jwt issuer " + issuer.issuer + ": jwks_file " +
                                  issuer.jwks_file + ": " + error);
    for (const auto& warning : keys->warnings())
        spdlog::warn("jwt issuer {}: jwks_file {}: {}", issuer.issuer, issuer.jwks_file, warning);
    if (keys->keys().empty())
        throw config::ConfigError("jwt issuer " + issuer.issuer + ": jwks_file " +
                                  issuer.jwks_file + " has no usable key");
    return std::make_shared<const KeySet>(std::move(*keys));
}

}  // namespace

Authenticator::Authenticator(const config::Config& config,
                             const store::DirectorySource* directory)
    : enabled_(!config.consumers.empty() || !config.jwt.empty() || directory != nullptr),
      config_(config),
      directory_(directory) {
    for (std::size_t i = 0; i < config.consumers.size(); ++i)
        for (const auto& key : config.consumers[i].keys)
            consumer_by_digest_.emplace(std::string(key.sha256.begin(), key.sha256.end()), i);
    for (const auto& issuer : config.jwt)
        verifiers_.push_back(std::make_shared<JwtVerifier>(issuer, initial_keys(issuer)));
}

Authenticator::~Authenticator() = default;

AuthResult Authenticator::authenticate(std::optional<std::string_view> authorization,
                                       std::optional<std::string_view> api_key,
                                       std::chrono::system_clock::time_point now) const {
    if (!enabled_) return {anonymous(), std::nullopt, {}};
    if (authorization) {
        constexpr std::string_view scheme = "Bearer ";
        if (authorization->size() <= scheme.size() ||
            !http::iequals(authorization->substr(0, scheme.size()), scheme))
            return {std::nullopt,
                    unauthorized(http::ErrorCode::invalid_api_key,
                                 "the Authorization header must be \"Bearer <key>\""),
                    "malformed"};
        auto credential = authorization->substr(scheme.size());
        while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
        if (!verifiers_.empty() && looks_like_jwt(credential)) return by_jwt(credential, now);
        if (!takes_api_keys())
            return {std::nullopt,
                    unauthorized(http::ErrorCode::invalid_token, "the bearer credential is not a JWT"),
                    "malformed"};
        return by_api_key(credential, now);
    }
    if (api_key && takes_api_keys()) return by_api_key(*api_key, now);
    return {
        std::nullopt,
        unauthorized(
            !takes_api_keys() ? http::ErrorCode::invalid_token
                                      : http::ErrorCode::invalid_api_key,
            "missing credentials: send \"Authorization: Bearer <key>\" or \"x-api-key: <key>\""),
        "missing"};
}

AuthResult Authenticator::by_api_key(std::string_view key,
                                     std::chrono::system_clock::time_point now) const {
    const auto digest = digest_of(key);
    const auto it = consumer_by_digest_.find(digest);
    if (it == consumer_by_digest_.end() && directory_ != nullptr) return by_stored_key(digest, now);
    // The table is keyed by digests, so a lookup reveals nothing about the key; the
    // final comparison is constant-time all the same.
    if (it == consumer_by_digest_.end() ||
        CRYPTO_memcmp(it->first.data(), digest.data(), SHA256_DIGEST_LENGTH) != 0)
        return {std::nullopt, unauthorized(http::ErrorCode::invalid_api_key, "the API key is not valid"),
                "unknown_api_key"};
    const auto& consumer = config_.consumers[it->second];
    return {Identity{consumer.name, consumer.tier, &consumer, {}, consumer.name}, std::nullopt, {}};
}

// A key of the store's directory: the snapshot in memory, never the database.
AuthResult Authenticator::by_stored_key(const std::string& digest,
                                        std::chrono::system_clock::time_point now) const {
    const auto directory = directory_->current();
    const auto* entry = directory->find_key(digest);
    if (entry == nullptr ||
        CRYPTO_memcmp(entry->key->sha256.data(), digest.data(), SHA256_DIGEST_LENGTH) != 0)
        return {std::nullopt, unauthorized(http::ErrorCode::invalid_api_key, "the API key is not valid"),
                "unknown_api_key"};
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    if (!entry->key->live(seconds.count()))
        return {std::nullopt,
                unauthorized(http::ErrorCode::invalid_api_key, "the API key has expired"), "expired"};
    const auto& consumer = *entry->consumer;
    if (consumer.disabled)
        return {std::nullopt, http::make_error(http::ErrorCode::consumer_disabled), "disabled"};
    Identity identity{consumer.name, consumer.tier, nullptr, {}, consumer.name};
    identity.stored = entry->consumer;
    identity.stored_key = entry->key;
    return {std::move(identity), std::nullopt, {}};
}

AuthResult Authenticator::by_jwt(std::string_view token,
                                 std::chrono::system_clock::time_point now) const {
    const auto issuer = peek_issuer(token);
    const JwtVerifier* verifier = nullptr;
    for (const auto& candidate : verifiers_)
        if (issuer && candidate->issuer().issuer == *issuer) verifier = candidate.get();
    if (verifier == nullptr)
        return {std::nullopt,
                unauthorized(http::ErrorCode::invalid_token, issuer ? "the token's issuer is not trusted"
                                                     : "the token is malformed"),
                issuer ? "wrong_issuer" : "malformed"};
    auto result = verifier->verify(token, now);
    if (!result.token && result.failure == JwtFailure::unknown_key && on_unknown_kid_)
        on_unknown_kid_(*verifier);
    if (!result.token) {
        // Unknown API keys and unknown signing keys are different problems (guessing vs. rotation).
        const auto reason =
            result.failure == JwtFailure::unknown_key ? "unknown_kid" : to_string(result.failure);
        return {std::nullopt, unauthorized(http::ErrorCode::invalid_token, result.message), reason};
    }
    const auto& config = verifier->issuer();
    auto tier = result.token->tier.value_or(config.default_tier);
    const bool known = std::any_of(config_.tiers.begin(), config_.tiers.end(),
                                   [&](const config::Tier& t) { return t.name == tier; });
    if (!known)
        return {
            std::nullopt,
            unauthorized(http::ErrorCode::invalid_token,
                         tier.empty() ? "the token has no tier claim and the issuer no default_tier"
                                      : "the token's tier is not one this gateway knows"),
            "unknown_tier"};
    auto account = jwt_account(config.issuer, result.token->consumer);
    return {Identity{std::move(result.token->consumer), std::move(tier), nullptr, config.issuer,
                     std::move(account)},
            std::nullopt,
            {}};
}

std::vector<std::shared_ptr<JwtVerifier>> Authenticator::url_verifiers() const {
    std::vector<std::shared_ptr<JwtVerifier>> out;
    for (const auto& verifier : verifiers_)
        if (!verifier->issuer().jwks_url.empty()) out.push_back(verifier);
    return out;
}

std::optional<http::GatewayError> authorize(const Identity& identity, const config::Route& route) {
    auto forbidden = [](std::string message) {
        return http::make_error(http::ErrorCode::route_not_allowed, std::move(message));
    };
    const std::optional<std::vector<std::string>>* routes = nullptr;
    if (identity.api_consumer) routes = &identity.api_consumer->routes;
    if (identity.stored) routes = &identity.stored->routes;
    if (routes != nullptr && *routes) {
        const auto& allowed = **routes;
        if (std::find(allowed.begin(), allowed.end(), route.name) == allowed.end())
            return forbidden("this API key may not use route \"" + route.name + "\"");
    }
    if (route.tiers &&
        std::find(route.tiers->begin(), route.tiers->end(), identity.tier) == route.tiers->end())
        return forbidden("tier \"" + identity.tier + "\" may not use route \"" + route.name + "\"");
    return std::nullopt;
}

Identity anonymous() {
    return Identity{"anonymous", "anonymous", nullptr, {}, "anonymous"};
}

std::string issuer_tag(std::string_view issuer) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(issuer.data()), issuer.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string tag;
    for (int i = 0; i < 8; ++i) {
        tag += hex[digest[i] >> 4];
        tag += hex[digest[i] & 0xf];
    }
    return tag;
}

std::string jwt_account(std::string_view issuer, std::string_view subject) {
    std::string account = "jwt:";
    account += issuer_tag(issuer);
    account += ':';
    account += subject;
    return account;
}

}  // namespace llmgw::auth
