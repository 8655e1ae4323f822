// Step 1 of the pipeline: ties a request to a consumer and a tier (API key or JWT), or refuses it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmgw/config/config.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/store/directory.hpp"

namespace llmgw::auth {

class JwtVerifier;

struct Identity {
    std::string consumer;  // the API-key consumer's name, or the token's consumer claim
    std::string tier;
    const config::Consumer* api_consumer = nullptr;  // set for API keys (its route allow-list)
    std::string issuer;  // the token's issuer; empty for API keys and anonymous

    // Who limits, usage and consumer-scoped cache entries belong to: the API-key consumer's
    // name, or jwt_account(issuer, subject), so neither a subject of another issuer nor a
    // configured consumer can ever share them.
    std::string account;

    // A consumer of the store (run time, not the config file): its record and the key used.
    // The shared pointer keeps both alive whatever directory replaces the one it came from.
    std::shared_ptr<const store::StoredConsumer> stored{};
    const store::StoredKey* stored_key = nullptr;

    bool from_jwt() const { return !issuer.empty(); }
    bool from_store() const { return stored != nullptr; }
};

// "jwt:" + the issuer's tag + ":" + the subject. The tag (16 hex digits of the SHA-256 of
// the issuer string) has a fixed length, so no (issuer, subject) pair can spell another's.
std::string jwt_account(std::string_view issuer, std::string_view subject);
std::string issuer_tag(std::string_view issuer);

struct AuthResult {
    std::optional<Identity> identity;
    std::optional<http::GatewayError> error;  // 401 when set (403 for a disabled consumer)
    std::string_view failure_reason;          // bounded set, for the metric label
};

class Authenticator {
public:
    // Loads JWKS files; throws config::ConfigError naming the issuer when one is unusable.
    // `directory`, when set, holds the store's consumers and keys (next to the YAML ones).
    explicit Authenticator(const config::Config& config,
                           const store::DirectorySource* directory = nullptr);
    ~Authenticator();

    // False without consumers and jwt: every request is the anonymous consumer.
    bool enabled() const { return enabled_; }

    // `authorization` is the Authorization header, `api_key` the x-api-key header.
    AuthResult authenticate(std::optional<std::string_view> authorization,
                            std::optional<std::string_view> api_key,
                            std::chrono::system_clock::time_point now) const;

    // The verifiers of issuers whose keys come from a URL, for the JWKS refresher.
    std::vector<std::shared_ptr<JwtVerifier>> url_verifiers() const;
    // Called (from worker threads) when a token names a kid that issuer's keys lack;
    // set once before serving.
    void on_unknown_kid(std::function<void(const JwtVerifier&)> callback) {
        on_unknown_kid_ = std::move(callback);
    }

private:
    AuthResult by_api_key(std::string_view key, std::chrono::system_clock::time_point now) const;
    AuthResult by_stored_key(const std::string& digest,
                             std::chrono::system_clock::time_point now) const;
    bool takes_api_keys() const { return !consumer_by_digest_.empty() || directory_ != nullptr; }
    AuthResult by_jwt(std::string_view token, std::chrono::system_clock::time_point now) const;

    bool enabled_ = false;
    const config::Config& config_;
    const store::DirectorySource* directory_;
    std::unordered_map<std::string, std::size_t>
        consumer_by_digest_;  // SHA-256 (raw bytes) → consumer index
    std::vector<std::shared_ptr<JwtVerifier>> verifiers_;
    std::function<void(const JwtVerifier&)> on_unknown_kid_;
};

// 403 unless the consumer's allow-list and the route's tier list both admit the request.
std::optional<http::GatewayError> authorize(const Identity& identity, const config::Route& route);

// The anonymous identity used when authentication is off.
Identity anonymous();

}  // namespace llmgw::auth
