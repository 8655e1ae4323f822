// Fuzzes the JWT front end: peeking at the issuer, then full verification of the input as a
// compact JWS against an HMAC key, and the same bytes as a JWKS document. Nothing the token
// says may crash or verify: the fuzzer does not know the secret.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "llmgw/auth/jwks.hpp"
#include "llmgw/auth/jwt_verifier.hpp"

namespace {

const llmgw::auth::JwtVerifier& verifier() {
    static const auto instance = [] {
        llmgw::config::JwtIssuer issuer;
        issuer.issuer = "https://auth.example/";
        issuer.audiences = {"llmgw"};
        issuer.secret = "fuzz-secret-0123456789abcdef0123456789";
        issuer.algorithms = {"HS256", "HS384", "RS256", "ES256", "EdDSA"};
        issuer.default_tier = "free";
        return std::make_unique<llmgw::auth::JwtVerifier>(
            issuer, std::make_shared<const llmgw::auth::KeySet>(
                        llmgw::auth::KeySet::from_secret(issuer.secret)));
    }();
    return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)llmgw::auth::peek_issuer(input);
    const auto result = verifier().verify(input, std::chrono::system_clock::now());
    // Forging an HMAC is beyond a fuzzer; a token that verifies means the checks are broken.
    if (result.ok()) __builtin_trap();
    // Messages never quote the token (a claim they quote cannot hold the token it is in). Only
    // token-like inputs are checked: a short one could be a piece of the message's own text.
    const bool token_like = input.size() > 40 && std::count(input.begin(), input.end(), '.') == 2;
    if (token_like && result.message.find(input) != std::string::npos) __builtin_trap();
    std::string error;
    (void)llmgw::auth::KeySet::parse(input, &error);
    return 0;
}
