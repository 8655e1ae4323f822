// Verifies compact JWS access tokens of one configured issuer (RFC 7515, 7519 and 8725).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/auth/jwks.hpp"
#include "llmgw/config/config.hpp"

namespace llmgw::auth {

// Tokens longer than this are refused as malformed before any parsing.
inline constexpr std::size_t kMaxJwtBytes = 16 * 1024;

enum class JwtFailure {
    malformed,
    unsupported_algorithm,
    unknown_key,
    bad_signature,
    expired,
    not_yet_valid,
    wrong_issuer,
    wrong_audience,
    missing_claim,
};

// Stable snake_case names ("bad_signature"), used as metric labels.
std::string_view to_string(JwtFailure failure);

struct VerifiedToken {
    std::string consumer;             // the consumer claim ("sub" by default)
    std::optional<std::string> tier;  // the tier claim, when the token has one
    std::chrono::system_clock::time_point expires;
};

struct JwtResult {
    std::optional<VerifiedToken> token;  // set when the token verified
    JwtFailure failure{};                // meaningful only without a token
    std::string message;                 // for people; never contains the token

    bool ok() const { return token.has_value(); }
};

class JwtVerifier {
public:
    // Only the issuer's configured `algorithms` are ever accepted ("none" never is); an empty
    // list accepts nothing. An empty `audiences` list means "aud" is not checked.
    JwtVerifier(const config::JwtIssuer& issuer, std::shared_ptr<const KeySet> keys);

    // Swaps in a refreshed key set; safe while other threads call verify().
    void replace_keys(std::shared_ptr<const KeySet> keys);

    JwtResult verify(std::string_view token, std::chrono::system_clock::time_point now) const;

    const config::JwtIssuer& issuer() const { return issuer_; }

private:
    std::shared_ptr<const KeySet> current_keys() const;

    config::JwtIssuer issuer_;
    mutable std::mutex keys_mutex_;
    std::shared_ptr<const KeySet> keys_;
};

// Reads the unverified "iss" of a compact JWS without checking anything else, to pick the
// verifier; nullopt if malformed.
std::optional<std::string> peek_issuer(std::string_view token);

}  // namespace llmgw::auth
