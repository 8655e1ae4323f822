// Builds OpenSSL 3 public keys from JWKS documents and checks JWS signatures with them.
#include "llmgw/auth/jwks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "llmgw/auth/base64url.hpp"

namespace llmgw::auth {

void EvpPkeyDeleter::operator()(evp_pkey_st* key) const noexcept {
    EVP_PKEY_free(key);
}

namespace {

using nlohmann::json;

template <auto Free>
struct FreeWith {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
using BignumPtr = std::unique_ptr<BIGNUM, FreeWith<BN_free>>;
using ParamBuildPtr = std::unique_ptr<OSSL_PARAM_BLD, FreeWith<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, FreeWith<OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, FreeWith<ECDSA_SIG_free>>;

// Failed OpenSSL calls leave entries in the thread's error queue; a stale entry would be
// misread by the next TLS call on the same thread, so every entry point clears it on exit.
struct ErrorQueueGuard {
    ErrorQueueGuard() = default;
    ErrorQueueGuard(const ErrorQueueGuard&) = delete;
    ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
    ~ErrorQueueGuard() { ERR_clear_error(); }
};

enum class Family { rsa_pkcs1, rsa_pss, ecdsa, eddsa, hmac };

struct Algorithm {
    std::string_view name;
    Family family;
    const EVP_MD* (*digest)();  // nullptr for EdDSA, which hashes internally
    Curve curve;                // ECDSA only
};

constexpr Algorithm kAlgorithms[] = {
    {"RS256", Family::rsa_pkcs1, EVP_sha256, Curve::none},
    {"RS384", Family::rsa_pkcs1, EVP_sha384, Curve::none},
    {"RS512", Family::rsa_pkcs1, EVP_sha512, Curve::none},
    {"PS256", Family::rsa_pss, EVP_sha256, Curve::none},
    {"PS384", Family::rsa_pss, EVP_sha384, Curve::none},
    {"PS512", Family::rsa_pss, EVP_sha512, Curve::none},
    {"ES256", Family::ecdsa, EVP_sha256, Curve::p256},
    {"ES384", Family::ecdsa, EVP_sha384, Curve::p384},
    {"ES512", Family::ecdsa, EVP_sha512, Curve::p521},
    {"EdDSA", Family::eddsa, nullptr, Curve::ed25519},
    {"HS256", Family::hmac, EVP_sha256, Curve::none},
    {"HS384", Family::hmac, EVP_sha384, Curve::none},
    {"HS512", Family::hmac, EVP_sha512, Curve::none},
};

const Algorithm* find_algorithm(std::string_view name) {
    for (const auto& alg : kAlgorithms)
        if (alg.name == name) return &alg;
    return nullptr;
}

bool fits(const Algorithm& alg, KeyType type, Curve curve) {
    switch (alg.family) {
        case Family::rsa_pkcs1:
        case Family::rsa_pss:
            return type == KeyType::rsa;
        case Family::ecdsa:
            return type == KeyType::ec && curve == alg.curve;
        case Family::eddsa:
            return type == KeyType::okp && curve == Curve::ed25519;
        case Family::hmac:
            return type == KeyType::oct;
    }
    return false;
}

struct CurveInfo {
    std::string_view jwk_name;
    const char* openssl_name;
    Curve curve;
    std::size_t coordinate_bytes;
};

constexpr CurveInfo kEcCurves[] = {
    {"P-256", "prime256v1", Curve::p256, 32},
    {"P-384", "secp384r1", Curve::p384, 48},
    {"P-521", "secp521r1", Curve::p521, 66},
};

std::size_t coordinate_bytes(Curve curve) {
    for (const auto& info : kEcCurves)
        if (info.curve == curve) return info.coordinate_bytes;
    return 0;
}

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

EvpPkeyPtr key_from_params(const char* type, OSSL_PARAM_BLD* build) {
    const ParamsPtr params(OSSL_PARAM_BLD_to_param(build));
    const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
    return EvpPkeyPtr(key);
}

bool passes_public_check(evp_pkey_st* key) {
    const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

// A required base64url member of a JWK; nullopt (with `reason`) when absent or not decodable.
std::optional<std::string> member_bytes(const json& jwk, const char* name, std::string& reason) {
    const auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) {
        reason = std::string("has no \"") + name + "\" string";
        return std::nullopt;
    }
    auto decoded = base64url_decode(it->get_ref<const std::string&>());
    if (!decoded || decoded->empty()) {
        reason = std::string("\"") + name + "\" is not non-empty base64url";
        return std::nullopt;
    }
    return decoded;
}

EvpPkeyPtr rsa_key(const json& jwk, std::string& reason) {
    const auto n = member_bytes(jwk, "n", reason);
    const auto e = n ? member_bytes(jwk, "e", reason) : std::nullopt;
    if (!n || !e) return nullptr;
    const BignumPtr modulus(BN_bin2bn(bytes(*n), static_cast<int>(n->size()), nullptr));
    const BignumPtr exponent(BN_bin2bn(bytes(*e), static_cast<int>(e->size()), nullptr));
    const ParamBuildPtr build(OSSL_PARAM_BLD_new());
    if (!modulus || !exponent || !build ||
        OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
        reason = "RSA parameters could not be built";
        return nullptr;
    }
    auto key = key_from_params("RSA", build.get());
    if (!key) {
        reason = "RSA key was refused by OpenSSL";
        return nullptr;
    }
    if (EVP_PKEY_get_bits(key.get()) < 2048) {
        reason = "RSA key has " + std::to_string(EVP_PKEY_get_bits(key.get())) +
                 " bits; at least 2048 are required";
        return nullptr;
    }
    if (!passes_public_check(key.get())) {
        reason = "RSA key fails OpenSSL's public key check";
        return nullptr;
    }
    return key;
}

EvpPkeyPtr ec_key(const json& jwk, Curve& curve, std::string& reason) {
    const auto crv = jwk.find("crv");
    const CurveInfo* info = nullptr;
    if (crv != jwk.end() && crv->is_string())
        for (const auto& candidate : kEcCurves)
            if (candidate.jwk_name == crv->get_ref<const std::string&>()) info = &candidate;
    if (!info) {
        reason = "EC curve is missing or not one of P-256, P-384, P-521";
        return nullptr;
    }
    const auto x = member_bytes(jwk, "x", reason);
    const auto y = x ? member_bytes(jwk, "y", reason) : std::nullopt;
    if (!x || !y) return nullptr;
    // RFC 7518 §6.2.1.2: coordinates are always the full size of the field.
    if (x->size() != info->coordinate_bytes || y->size() != info->coordinate_bytes) {
        reason = "EC coordinates are not " + std::to_string(info->coordinate_bytes) + " bytes";
        return nullptr;
    }
    const std::string point = '\x04' + *x + *y;  // SEC 1 uncompressed point
    const ParamBuildPtr build(OSSL_PARAM_BLD_new());
    if (!build ||
        OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, info->openssl_name,
                                        0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
        reason = "EC parameters could not be built";
        return nullptr;
    }
    auto key = key_from_params("EC", build.get());
    if (!key || !passes_public_check(key.get())) {
        reason = "EC point is not on curve " + std::string(info->jwk_name);
        return nullptr;
    }
    curve = info->curve;
    return key;
}

EvpPkeyPtr okp_key(const json& jwk, Curve& curve, std::string& reason) {
    const auto crv = jwk.find("crv");
    if (crv == jwk.end() || *crv != "Ed25519") {
        reason = "OKP curve is missing or not Ed25519";
        return nullptr;
    }
    const auto x = member_bytes(jwk, "x", reason);
    if (!x) return nullptr;
    if (x->size() != 32) {
        reason = "Ed25519 public key is not 32 bytes";
        return nullptr;
    }
    EvpPkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, bytes(*x), 32));
    if (!key) {
        reason = "Ed25519 key was refused by OpenSSL";
        return nullptr;
    }
    curve = Curve::ed25519;
    return key;
}

// Printable, bounded form of a kid for warnings (a JWKS may come from a remote URL).
std::string describe_kid(const std::string& kid) {
    std::string out;
    for (const char c : kid.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

// JOSE ECDSA signatures are r||s, each exactly the coordinate size; OpenSSL wants DER.
std::optional<std::string> ecdsa_der(std::string_view signature, std::size_t coordinate) {
    if (coordinate == 0 || signature.size() != 2 * coordinate) return std::nullopt;
    BignumPtr r(BN_bin2bn(bytes(signature), static_cast<int>(coordinate), nullptr));
    BignumPtr s(
        BN_bin2bn(bytes(signature.substr(coordinate)), static_cast<int>(coordinate), nullptr));
    const EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
    r.release();  // now owned by sig
    s.release();
    const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (size <= 0) return std::nullopt;
    std::string der(static_cast<std::size_t>(size), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::nullopt;
    return der;
}

bool verify_asymmetric(const Algorithm& alg, evp_pkey_st* key, Curve curve, std::string_view input,
                       std::string_view signature) {
    std::optional<std::string> der;
    if (alg.family == Family::ecdsa) {
        der = ecdsa_der(signature, coordinate_bytes(curve));
        if (!der) return false;
        signature = *der;
    }
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
    const EVP_MD* digest = alg.digest ? alg.digest() : nullptr;
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, digest, nullptr, key) != 1) return false;
    if (alg.family == Family::rsa_pss &&
        (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, digest) != 1))
        return false;
    return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(input),
                            input.size()) == 1;
}

bool verify_hmac(const Algorithm& alg, const std::string& secret, std::string_view input,
                 std::string_view signature) {
    if (secret.empty()) return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    if (!HMAC(alg.digest(), secret.data(), static_cast<int>(secret.size()), bytes(input),
              input.size(), mac, &mac_size))
        return false;
    return signature.size() == mac_size && CRYPTO_memcmp(mac, signature.data(), mac_size) == 0;
}

}  // namespace

bool is_supported_jws_algorithm(std::string_view alg) {
    return find_algorithm(alg) != nullptr;
}

bool Jwk::accepts(std::string_view alg) const {
    const Algorithm* algorithm = find_algorithm(alg);
    return algorithm && fits(*algorithm, type_, curve_) && (!alg_ || *alg_ == alg);
}

bool Jwk::verify(std::string_view alg, std::string_view signing_input,
                 std::string_view signature) const {
    const ErrorQueueGuard clear_errors;
    if (!accepts(alg)) return false;
    const Algorithm& algorithm = *find_algorithm(alg);
    if (algorithm.family == Family::hmac)
        return verify_hmac(algorithm, secret_, signing_input, signature);
    return public_key_ &&
           verify_asymmetric(algorithm, public_key_.get(), curve_, signing_input, signature);
}

void KeySet::add_entry(const json& entry, std::string label) {
    const auto skip = [&](const std::string& reason) {
        warnings_.push_back(label + " skipped: " + reason);
    };
    if (!entry.is_object()) {
        skip("not a JSON object");
        return;
    }
    Jwk key;
    if (const auto kid = entry.find("kid"); kid != entry.end()) {
        if (!kid->is_string()) {
            skip("\"kid\" is not a string");
            return;
        }
        key.kid_ = kid->get<std::string>();
        label += " (kid \"" + describe_kid(*key.kid_) + "\")";
    }
    if (const auto use = entry.find("use"); use != entry.end() && *use != "sig") {
        skip("\"use\" is not \"sig\"");
        return;
    }
    if (const auto ops = entry.find("key_ops"); ops != entry.end()) {
        if (!ops->is_array() || std::find(ops->begin(), ops->end(), "verify") == ops->end()) {
            skip("\"key_ops\" does not include \"verify\"");
            return;
        }
    }
    const auto kty = entry.find("kty");
    if (kty == entry.end() || !kty->is_string()) {
        skip("has no \"kty\" string");
        return;
    }
    std::string reason;
    if (*kty == "RSA") {
        key.type_ = KeyType::rsa;
        key.public_key_ = rsa_key(entry, reason);
    } else if (*kty == "EC") {
        key.type_ = KeyType::ec;
        key.public_key_ = ec_key(entry, key.curve_, reason);
    } else if (*kty == "OKP") {
        key.type_ = KeyType::okp;
        key.public_key_ = okp_key(entry, key.curve_, reason);
    } else if (*kty == "oct") {
        reason = "symmetric (oct) keys are not taken from a JWKS; configure `secret` instead";
    } else {
        reason = "unsupported \"kty\"";
    }
    if (!key.public_key_) {
        skip(reason);
        return;
    }
    if (const auto alg = entry.find("alg"); alg != entry.end()) {
        const Algorithm* algorithm =
            alg->is_string() ? find_algorithm(alg->get_ref<const std::string&>()) : nullptr;
        if (!algorithm || !fits(*algorithm, key.type_, key.curve_)) {
            skip("\"alg\" is not a supported signature algorithm for this key type and curve");
            return;
        }
        key.alg_ = std::string(algorithm->name);
    }
    if (entry.contains("d") || entry.contains("p") || entry.contains("q"))
        warnings_.push_back(label +
                                " contains private key material; only the public part is used");
    keys_.push_back(std::move(key));
}

std::optional<KeySet> KeySet::parse(std::string_view text, std::string* error) {
    const ErrorQueueGuard clear_errors;
    const auto fail = [error](const char* message) {
        if (error) *error = message;
        return std::nullopt;
    };
    const json document = json::parse(text.begin(), text.end(), nullptr, false);
    if (document.is_discarded()) return fail("JWKS is not valid JSON");
    if (!document.is_object()) return fail("JWKS is not a JSON object");
    const auto keys = document.find("keys");
    if (keys == document.end() || !keys->is_array()) return fail("JWKS has no \"keys\" array");

    KeySet set;
    std::size_t index = 0;
    for (const auto& entry : *keys) set.add_entry(entry, "JWKS key #" + std::to_string(index++));
    if (set.keys_.empty()) set.warnings_.push_back("JWKS has no usable keys");
    return set;
}

KeySet KeySet::from_secret(std::string secret) {
    KeySet set;
    if (secret.empty()) {
        set.warnings_.push_back("the HMAC secret is empty; no token can verify");
        return set;
    }
    // RFC 7518 §3.2: the key must be at least as long as the hash output.
    if (secret.size() < 32)
        set.warnings_.push_back("the HMAC secret is shorter than 32 bytes, the minimum for HS256");
    Jwk key;
    key.type_ = KeyType::oct;
    key.secret_ = std::move(secret);
    set.keys_.push_back(std::move(key));
    return set;
}

std::vector<const Jwk*> KeySet::find(std::optional<std::string_view> kid) const {
    std::vector<const Jwk*> out;
    if (!kid) {
        for (const auto& key : keys_) out.push_back(&key);
        return out;
    }
    for (const auto& key : keys_)
        if (key.kid_ && *key.kid_ == *kid) out.push_back(&key);
    if (out.empty())
        for (const auto& key : keys_)
            if (!key.kid_) out.push_back(&key);
    return out;
}

}  // namespace llmgw::auth
