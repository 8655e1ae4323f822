// The public keys (or HMAC secret) of one JWT issuer, and JWS signature checks with them.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace llmgw::auth {

struct EvpPkeyDeleter {
    void operator()(evp_pkey_st* key) const noexcept;
};
using EvpPkeyPtr = std::unique_ptr<evp_pkey_st, EvpPkeyDeleter>;

// The JWS algorithms llmgw verifies: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA
// (Ed25519) and HS256/384/512. Case-sensitive; "none" is never one of them.
bool is_supported_jws_algorithm(std::string_view alg);

enum class KeyType { rsa, ec, okp, oct };
enum class Curve { none, p256, p384, p521, ed25519 };

// One verification key: a JWK from a JWKS document or the issuer's configured secret.
class Jwk {
public:
    Jwk(Jwk&&) noexcept = default;
    Jwk& operator=(Jwk&&) noexcept = default;

    const std::optional<std::string>& kid() const { return kid_; }
    KeyType type() const { return type_; }
    Curve curve() const { return curve_; }
    const std::optional<std::string>& alg() const { return alg_; }  // the JWK's own "alg"

    // Whether this key may check `alg` signatures: the algorithm fits the key type and curve
    // (RS*/PS* RSA, ES256 P-256, ES384 P-384, ES512 P-521, EdDSA Ed25519, HS* only a secret)
    // and equals the JWK's "alg" when it has one.
    bool accepts(std::string_view alg) const;

    // Checks a JOSE signature (ECDSA as raw r||s) over `signing_input`; false when the
    // signature is wrong or `accepts(alg)` is false.
    bool verify(std::string_view alg, std::string_view signing_input,
                std::string_view signature) const;

private:
    friend class KeySet;
    Jwk() = default;

    std::optional<std::string> kid_;
    KeyType type_ = KeyType::oct;
    Curve curve_ = Curve::none;
    std::optional<std::string> alg_;
    EvpPkeyPtr public_key_;  // rsa, ec, okp
    std::string secret_;     // oct
};

// An immutable set of keys; shared between verifier threads through shared_ptr<const KeySet>.
// A default-constructed set is empty: every token checked against it fails with unknown_key.
class KeySet {
public:
    // Parses a JWKS document ({"keys":[...]}). Keys that are malformed, unsupported, not for
    // signatures ("use" other than "sig"), symmetric ("oct": configure `secret` instead), RSA
    // below 2048 bits, or EC points not on their curve are skipped, each with a warning.
    // nullopt, with `*error` set when error is not null, when the document is not JSON or has
    // no "keys" array.
    static std::optional<KeySet> parse(std::string_view json, std::string* error);

    // A set holding the issuer's HMAC secret as one "oct" key without kid (HS256/384/512).
    // An empty secret gives an empty set; one shorter than 32 bytes gives a warning.
    static KeySet from_secret(std::string secret);

    // The keys that may have signed a token with this "kid" header: those with that kid, or
    // when none has it, the keys that have no kid. A token without kid may be signed by any
    // key. The kid is only compared, never interpreted.
    std::vector<const Jwk*> find(std::optional<std::string_view> kid) const;

    const std::vector<Jwk>& keys() const { return keys_; }
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    // Adds one entry of the JWKS "keys" array as a key, or a warning saying why it is
    // skipped; `label` names it in warnings.
    void add_entry(const nlohmann::json& entry, std::string label);

    std::vector<Jwk> keys_;
    std::vector<std::string> warnings_;
};

}  // namespace llmgw::auth
