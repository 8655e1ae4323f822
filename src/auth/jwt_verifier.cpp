// JWT access token checks: compact form, pinned algorithm, key, signature, then claims.
#include "llmgw/auth/jwt_verifier.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "llmgw/auth/base64url.hpp"

namespace llmgw::auth {

namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

// The three base64url parts of a compact JWS, plus what the signature covers.
struct CompactParts {
    std::string_view header;
    std::string_view payload;
    std::string_view signature;
    std::string_view signing_input;  // header '.' payload
};

std::optional<CompactParts> split(std::string_view token) {
    if (token.empty() || token.size() > kMaxJwtBytes) return std::nullopt;
    const auto first = token.find('.');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
        return std::nullopt;
    CompactParts parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                       token.substr(second + 1), token.substr(0, second)};
    if (parts.header.empty() || parts.payload.empty()) return std::nullopt;
    return parts;
}

// A decoded JSON object, or nullopt. Duplicate member names keep the last value, which
// RFC 7515 §4 allows.
std::optional<json> decode_object(std::string_view part) {
    const auto text = base64url_decode(part);
    if (!text) return std::nullopt;
    json value = json::parse(*text, nullptr, false);
    if (value.is_discarded() || !value.is_object()) return std::nullopt;
    return value;
}

JwtResult fail(JwtFailure failure, std::string message) {
    return JwtResult{std::nullopt, failure, std::move(message)};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

std::string whole_seconds(double seconds) {
    return std::to_string(static_cast<long long>(std::ceil(std::max(seconds, 0.0)))) + " s";
}

Clock::time_point to_time_point(double seconds) {
    // system_clock counts nanoseconds in 64 bits: beyond ~year 2262 it cannot represent.
    constexpr double kLimit = 9.0e9;
    if (seconds >= kLimit) return Clock::time_point::max();
    if (seconds <= -kLimit) return Clock::time_point::min();
    const std::chrono::milliseconds millis(std::llround(seconds * 1000));
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(millis));
}

// Checks the registered and configured claims of a payload whose signature verified.
JwtResult check_claims(const config::JwtIssuer& issuer, const json& claims, Clock::time_point now) {
    const auto iss = claims.find("iss");
    if (iss == claims.end()) return fail(JwtFailure::missing_claim, "token has no iss claim");
    if (!iss->is_string() || iss->get_ref<const std::string&>() != issuer.issuer)
        return fail(JwtFailure::wrong_issuer, "issuer is not " + issuer.issuer);

    if (!issuer.audiences.empty()) {
        const auto aud = claims.find("aud");
        if (aud == claims.end()) return fail(JwtFailure::missing_claim, "token has no aud claim");
        const auto accepted = [&](const json& value) {
            return std::find(issuer.audiences.begin(), issuer.audiences.end(),
                             value.get_ref<const std::string&>()) != issuer.audiences.end();
        };
        bool found = false;
        if (aud->is_string()) {
            found = accepted(*aud);
        } else if (aud->is_array()) {
            for (const auto& value : *aud) {
                if (!value.is_string())
                    return fail(JwtFailure::malformed, "aud contains a value that is not a string");
                found = found || accepted(value);
            }
        } else {
            return fail(JwtFailure::malformed, "aud is neither a string nor an array");
        }
        if (!found)
            return fail(JwtFailure::wrong_audience, "audience does not include an accepted value");
    }

    const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double leeway_s = std::chrono::duration<double>(issuer.leeway).count();
    const auto exp = claims.find("exp");
    if (exp == claims.end()) return fail(JwtFailure::missing_claim, "token has no exp claim");
    if (!exp->is_number()) return fail(JwtFailure::malformed, "exp is not a number");
    const double exp_s = exp->get<double>();
    if (now_s > exp_s + leeway_s)
        return fail(JwtFailure::expired, "token expired " + whole_seconds(now_s - exp_s) + " ago");
    if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
        if (!nbf->is_number()) return fail(JwtFailure::malformed, "nbf is not a number");
        const double nbf_s = nbf->get<double>();
        if (now_s + leeway_s < nbf_s)
            return fail(JwtFailure::not_yet_valid,
                        "token is not valid for another " + whole_seconds(nbf_s - now_s));
    }
    if (const auto iat = claims.find("iat"); iat != claims.end()) {
        if (!iat->is_number()) return fail(JwtFailure::malformed, "iat is not a number");
        const double iat_s = iat->get<double>();
        if (iat_s > now_s + leeway_s)
            return fail(JwtFailure::not_yet_valid,
                        "token was issued " + whole_seconds(iat_s - now_s) + " in the future");
    }

    VerifiedToken token;
    const auto consumer = claims.find(issuer.consumer_claim);
    if (consumer == claims.end() || !consumer->is_string() ||
        consumer->get_ref<const std::string&>().empty())
        return fail(JwtFailure::missing_claim,
                    "token has no non-empty string claim \"" + issuer.consumer_claim + "\"");
    token.consumer = consumer->get<std::string>();
    if (const auto tier = claims.find(issuer.tier_claim); tier != claims.end()) {
        if (!tier->is_string())
            return fail(JwtFailure::malformed,
                        "claim \"" + issuer.tier_claim + "\" is not a string");
        token.tier = tier->get<std::string>();
    }
    token.expires = to_time_point(exp_s);
    return JwtResult{std::move(token), JwtFailure{}, {}};
}

}  // namespace

std::string_view to_string(JwtFailure failure) {
    switch (failure) {
        case JwtFailure::malformed:
            return "malformed";
        case JwtFailure::unsupported_algorithm:
            return "unsupported_algorithm";
        case JwtFailure::unknown_key:
            return "unknown_key";
        case JwtFailure::bad_signature:
            return "bad_signature";
        case JwtFailure::expired:
            return "expired";
        case JwtFailure::not_yet_valid:
            return "not_yet_valid";
        case JwtFailure::wrong_issuer:
            return "wrong_issuer";
        case JwtFailure::wrong_audience:
            return "wrong_audience";
        case JwtFailure::missing_claim:
            return "missing_claim";
    }
    return "unknown";
}

JwtVerifier::JwtVerifier(const config::JwtIssuer& issuer, std::shared_ptr<const KeySet> keys)
    : issuer_(issuer), keys_(std::move(keys)) {}

void JwtVerifier::replace_keys(std::shared_ptr<const KeySet> keys) {
    const std::lock_guard lock(keys_mutex_);
    keys_.swap(keys);
    // The old set is released outside the lock, when `keys` goes out of scope.
}

std::shared_ptr<const KeySet> JwtVerifier::current_keys() const {
    const std::lock_guard lock(keys_mutex_);
    return keys_;
}

JwtResult JwtVerifier::verify(std::string_view token, Clock::time_point now) const {
    if (token.size() > kMaxJwtBytes)
        return fail(JwtFailure::malformed, "token is longer than 16 KiB");
    const auto parts = split(token);
    if (!parts)
        return fail(JwtFailure::malformed, "token is not three dot-separated base64url parts");
    const auto header = decode_object(parts->header);
    if (!header) return fail(JwtFailure::malformed, "token header is not a base64url JSON object");
    const auto alg_member = header->find("alg");
    if (alg_member == header->end() || !alg_member->is_string())
        return fail(JwtFailure::malformed, "token header has no alg");
    // No extension is understood, so RFC 7515 §4.1.11 requires refusing any "crit".
    if (header->contains("crit"))
        return fail(JwtFailure::malformed, "token header lists critical extensions (crit)");

    // The algorithm is pinned by configuration and key; the token only names which to use.
    const auto& alg = alg_member->get_ref<const std::string&>();
    if (equals_ignoring_case(alg, "none"))
        return fail(JwtFailure::unsupported_algorithm, "unsigned tokens (alg none) are refused");
    if (!is_supported_jws_algorithm(alg))
        return fail(JwtFailure::unsupported_algorithm, "token algorithm is not supported");
    if (std::find(issuer_.algorithms.begin(), issuer_.algorithms.end(), alg) ==
        issuer_.algorithms.end())
        return fail(JwtFailure::unsupported_algorithm,
                    "algorithm " + alg + " is not accepted for issuer " + issuer_.issuer);

    std::optional<std::string_view> kid;
    if (const auto member = header->find("kid"); member != header->end()) {
        if (!member->is_string()) return fail(JwtFailure::malformed, "token kid is not a string");
        kid = member->get_ref<const std::string&>();
    }
    const auto payload_text = base64url_decode(parts->payload);
    if (!payload_text) return fail(JwtFailure::malformed, "token payload is not base64url");
    const auto signature = base64url_decode(parts->signature);
    if (!signature) return fail(JwtFailure::malformed, "token signature is not base64url");

    const auto keys = current_keys();
    bool any_candidate = false;
    bool verified = false;
    if (keys) {
        for (const Jwk* key : keys->find(kid)) {
            if (!key->accepts(alg)) continue;
            any_candidate = true;
            if (key->verify(alg, parts->signing_input, *signature)) {
                verified = true;
                break;
            }
        }
    }
    if (!any_candidate)
        return fail(JwtFailure::unknown_key,
                    kid ? "no " + alg + " key has the token's kid" : "no " + alg + " key is known");
    if (!verified) return fail(JwtFailure::bad_signature, "signature does not verify");

    // Claims are parsed only once the signature proves who wrote them.
    const json claims = json::parse(*payload_text, nullptr, false);
    if (claims.is_discarded() || !claims.is_object())
        return fail(JwtFailure::malformed, "token payload is not a JSON object");
    return check_claims(issuer_, claims, now);
}

std::optional<std::string> peek_issuer(std::string_view token) {
    const auto parts = split(token);
    if (!parts) return std::nullopt;
    const auto payload = decode_object(parts->payload);
    if (!payload) return std::nullopt;
    const auto iss = payload->find("iss");
    if (iss == payload->end() || !iss->is_string()) return std::nullopt;
    return iss->get<std::string>();
}

}  // namespace llmgw::auth
