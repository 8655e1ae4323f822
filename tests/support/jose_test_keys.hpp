// Test-time key generation, JWK export and JWS signing with OpenSSL, for the auth tests.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "llmgw/auth/base64url.hpp"

namespace llmgw::auth::testing {

using nlohmann::json;

enum class KeyKind { rsa2048, rsa1024, p256, p384, p521, ed25519 };

inline const EVP_MD* digest_for(std::string_view alg) {
    const auto bits = alg.substr(2);
    if (bits == "256") return EVP_sha256();
    if (bits == "384") return EVP_sha384();
    if (bits == "512") return EVP_sha512();
    return nullptr;
}

inline std::string bignum_bytes(const BIGNUM* bn, std::size_t width = 0) {
    const auto size = static_cast<std::size_t>(BN_num_bytes(bn));
    std::string out(std::max(size, width), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    return out;
}

// A freshly generated private key that exports its public JWK and signs like a JOSE issuer.
class TestKey {
public:
    explicit TestKey(KeyKind kind) : kind_(kind) {
        EVP_PKEY* key = nullptr;
        switch (kind) {
            case KeyKind::rsa2048:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
                break;
            case KeyKind::rsa1024:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
                break;
            case KeyKind::p256:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
                break;
            case KeyKind::p384:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
                break;
            case KeyKind::p521:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
                break;
            case KeyKind::ed25519:
                key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
                break;
        }
        if (!key) throw std::runtime_error("key generation failed");
        key_.reset(key);
    }

    KeyKind kind() const { return kind_; }

    // The public JWK, with "kid" and "alg" when given.
    json jwk(std::optional<std::string> kid = {}, std::optional<std::string> alg = {}) const {
        json out;
        switch (kind_) {
            case KeyKind::rsa2048:
            case KeyKind::rsa1024:
                out = {{"kty", "RSA"},
                       {"n", base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_N))},
                       {"e", base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_E))}};
                break;
            case KeyKind::p256:
            case KeyKind::p384:
            case KeyKind::p521:
                out = {{"kty", "EC"},
                       {"crv", kind_ == KeyKind::p256   ? "P-256"
                               : kind_ == KeyKind::p384 ? "P-384"
                                                        : "P-521"},
                       {"x", base64url_encode(bn_param(OSSL_PKEY_PARAM_EC_PUB_X, coordinate()))},
                       {"y", base64url_encode(bn_param(OSSL_PKEY_PARAM_EC_PUB_Y, coordinate()))}};
                break;
            case KeyKind::ed25519: {
                std::string raw(32, '\0');
                size_t size = raw.size();
                EVP_PKEY_get_raw_public_key(key_.get(),
                                            reinterpret_cast<unsigned char*>(raw.data()), &size);
                out = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(raw)}};
                break;
            }
        }
        if (kid) out["kid"] = *kid;
        if (alg) out["alg"] = *alg;
        return out;
    }

    // A JOSE signature over `input`: ECDSA as raw r||s of the key's coordinate size.
    std::string sign(std::string_view alg, std::string_view input) const {
        const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                          EVP_MD_CTX_free);
        EVP_PKEY_CTX* pkey_ctx = nullptr;
        const EVP_MD* md = alg == "EdDSA" ? nullptr : digest_for(alg);
        if (EVP_DigestSignInit(ctx.get(), &pkey_ctx, md, nullptr, key_.get()) != 1)
            throw std::runtime_error("sign init failed");
        if (alg.substr(0, 2) == "PS") {
            EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST);
            EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, md);
        }
        const auto* data = reinterpret_cast<const unsigned char*>(input.data());
        size_t size = 0;
        if (EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1)
            throw std::runtime_error("sign size failed");
        std::string signature(size, '\0');
        if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                           data, input.size()) != 1)
            throw std::runtime_error("sign failed");
        signature.resize(size);
        if (coordinate() == 0) return signature;
        const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
        std::string raw = bignum_bytes(ECDSA_SIG_get0_r(parsed), coordinate()) +
                          bignum_bytes(ECDSA_SIG_get0_s(parsed), coordinate());
        ECDSA_SIG_free(parsed);
        return raw;
    }

    // SubjectPublicKeyInfo, as PEM text and as DER bytes: the material of key-confusion attacks.
    std::string public_pem() const {
        const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PUBKEY(bio.get(), key_.get());
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(size));
    }
    std::string public_der() const {
        unsigned char* data = nullptr;
        const int size = i2d_PUBKEY(key_.get(), &data);
        std::string out(reinterpret_cast<char*>(data), static_cast<std::size_t>(size));
        OPENSSL_free(data);
        return out;
    }

private:
    std::size_t coordinate() const {
        switch (kind_) {
            case KeyKind::p256:
                return 32;
            case KeyKind::p384:
                return 48;
            case KeyKind::p521:
                return 66;
            default:
                return 0;
        }
    }

    std::string bn_param(const char* name, std::size_t width = 0) const {
        BIGNUM* bn = nullptr;
        if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1)
            throw std::runtime_error("no key parameter");
        std::string out = bignum_bytes(bn, width);
        BN_free(bn);
        return out;
    }

    KeyKind kind_;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

// One key of each kind per process (and a second "rotated" one), since RSA keygen is slow.
inline const TestKey& shared_key(KeyKind kind, int generation = 0) {
    static std::mutex mutex;
    static std::map<std::pair<KeyKind, int>, std::unique_ptr<TestKey>> keys;
    const std::lock_guard lock(mutex);
    auto& slot = keys[{kind, generation}];
    if (!slot) slot = std::make_unique<TestKey>(kind);
    return *slot;
}

inline std::string hmac(std::string_view alg, std::string_view secret, std::string_view input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(digest_for(alg), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
    return std::string(reinterpret_cast<char*>(mac), size);
}

inline std::string encode_json(const json& value) {
    return base64url_encode(value.dump());
}

// header.payload.signature, with `sign` called on the signing input.
template <class Sign>
std::string make_token(const json& header, const json& payload, Sign&& sign) {
    const std::string input = encode_json(header) + "." + encode_json(payload);
    return input + "." + base64url_encode(sign(input));
}

inline std::string make_token(const json& header, const json& payload, const TestKey& key) {
    const std::string alg = header.at("alg");
    return make_token(header, payload,
                      [&](std::string_view input) { return key.sign(alg, input); });
}

inline std::string make_hmac_token(const json& header, const json& payload,
                                   std::string_view secret) {
    const std::string alg = header.at("alg");
    return make_token(header, payload,
                      [&](std::string_view input) { return hmac(alg, secret, input); });
}

inline std::string jwks_document(const std::vector<json>& keys) {
    return json{{"keys", keys}}.dump();
}

}  // namespace llmgw::auth::testing
