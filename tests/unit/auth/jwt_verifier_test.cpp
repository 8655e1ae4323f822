// JwtVerifier: every supported algorithm verifies, and every kind of bad token is refused.
#include "llmgw/auth/jwt_verifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "support/jose_test_keys.hpp"

using namespace std::chrono_literals;
using llmgw::auth::base64url_decode;
using llmgw::auth::base64url_encode;
using llmgw::auth::JwtFailure;
using llmgw::auth::JwtResult;
using llmgw::auth::JwtVerifier;
using llmgw::auth::KeySet;
using llmgw::auth::peek_issuer;
using llmgw::auth::testing::encode_json;
using llmgw::auth::testing::json;
using llmgw::auth::testing::jwks_document;
using llmgw::auth::testing::KeyKind;
using llmgw::auth::testing::make_hmac_token;
using llmgw::auth::testing::make_token;
using llmgw::auth::testing::shared_key;
using llmgw::auth::testing::TestKey;
using testing::HasSubstr;
using testing::Not;

namespace {

using Clock = std::chrono::system_clock;

const Clock::time_point kNow{std::chrono::seconds(1'700'000'000)};
const std::int64_t kNowSeconds = 1'700'000'000;
const std::string kIssuer = "https://auth.example.com/";
const std::string kSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const std::vector<std::string> kAllAlgorithms = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                 "PS512", "ES256", "ES384", "ES512", "EdDSA",
                                                 "HS256", "HS384", "HS512"};

llmgw::config::JwtIssuer issuer_config(std::vector<std::string> algorithms = kAllAlgorithms) {
    llmgw::config::JwtIssuer issuer;
    issuer.issuer = kIssuer;
    issuer.audiences = {"llmgw", "other-gateway"};
    issuer.jwks_file = "jwks.json";
    issuer.algorithms = std::move(algorithms);
    return issuer;
}

// The issuer's JWKS: one key of every asymmetric kind, each with a kid naming it.
std::shared_ptr<const KeySet> issuer_keys() {
    auto set = KeySet::parse(jwks_document({
                                 shared_key(KeyKind::rsa2048).jwk("rsa"),
                                 shared_key(KeyKind::p256).jwk("p256"),
                                 shared_key(KeyKind::p384).jwk("p384"),
                                 shared_key(KeyKind::p521).jwk("p521"),
                                 shared_key(KeyKind::ed25519).jwk("ed25519"),
                             }),
                             nullptr);
    return std::make_shared<const KeySet>(std::move(*set));
}

json valid_claims() {
    return {{"iss", kIssuer},       {"aud", "llmgw"},          {"sub", "alice"},
            {"tier", "pro"},        {"iat", kNowSeconds - 10}, {"exp", kNowSeconds + 300},
            {"scope", "chat:write"}};
}

// The key and kid that sign `alg` in these tests.
std::pair<const TestKey*, std::string> signer_for(const std::string& alg) {
    if (alg[0] == 'R' || alg[0] == 'P') return {&shared_key(KeyKind::rsa2048), "rsa"};
    if (alg == "ES256") return {&shared_key(KeyKind::p256), "p256"};
    if (alg == "ES384") return {&shared_key(KeyKind::p384), "p384"};
    if (alg == "ES512") return {&shared_key(KeyKind::p521), "p521"};
    return {&shared_key(KeyKind::ed25519), "ed25519"};
}

// A token signed the way the real issuer would, for any algorithm.
std::string signed_token(const std::string& alg, const json& claims = valid_claims()) {
    if (alg[0] == 'H') return make_hmac_token({{"alg", alg}, {"typ", "JWT"}}, claims, kSecret);
    const auto [key, kid] = signer_for(alg);
    return make_token({{"alg", alg}, {"typ", "JWT"}, {"kid", kid}}, claims, *key);
}

std::string rs256(const json& claims) {
    return signed_token("RS256", claims);
}

json claims_with(std::initializer_list<std::pair<const std::string, json>> changes) {
    auto claims = valid_claims();
    for (const auto& [name, value] : changes) claims[name] = value;
    return claims;
}

json claims_without(const std::string& name) {
    auto claims = valid_claims();
    claims.erase(name);
    return claims;
}

class JwtVerifierTest : public ::testing::Test {
protected:
    JwtResult verify(std::string_view token) const { return verifier.verify(token, kNow); }

    JwtVerifier verifier{issuer_config(), issuer_keys()};
};

void expect_failure(const JwtResult& result, JwtFailure failure) {
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.failure, failure)
        << "got " << to_string(result.failure) << ": " << result.message;
    EXPECT_FALSE(result.message.empty());
}

}  // namespace

// --- Every algorithm -----------------------------------------------------------------------

class JwtVerifierAlgorithm : public ::testing::TestWithParam<std::string> {
protected:
    JwtVerifier verifier() const {
        if (GetParam()[0] == 'H')
            return JwtVerifier(issuer_config(),
                               std::make_shared<const KeySet>(KeySet::from_secret(kSecret)));
        return JwtVerifier(issuer_config(), issuer_keys());
    }
};

TEST_P(JwtVerifierAlgorithm, VerifiesATokenSignedWithIt) {
    const auto result = verifier().verify(signed_token(GetParam()), kNow);
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->consumer, "alice");
}

TEST_P(JwtVerifierAlgorithm, RefusesATamperedPayload) {
    const auto token = signed_token(GetParam());
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    const auto forged = token.substr(0, first + 1) +
                        encode_json(claims_with({{"sub", "mallory"}})) + token.substr(second);
    expect_failure(verifier().verify(forged, kNow), JwtFailure::bad_signature);
}

TEST_P(JwtVerifierAlgorithm, RefusesWhenOnlyThatAlgorithmIsNotConfigured) {
    std::vector<std::string> others;
    for (const auto& alg : kAllAlgorithms)
        if (alg != GetParam()) others.push_back(alg);
    const JwtVerifier restricted(issuer_config(others), issuer_keys());
    expect_failure(restricted.verify(signed_token(GetParam()), kNow),
                   JwtFailure::unsupported_algorithm);
}

INSTANTIATE_TEST_SUITE_P(JwtAllAlgorithms, JwtVerifierAlgorithm,
                         ::testing::ValuesIn(kAllAlgorithms),
                         [](const auto& info) { return info.param; });

// --- What a verified token yields ----------------------------------------------------------

TEST_F(JwtVerifierTest, YieldsConsumerTierAndExpiry) {
    const auto result = verify(rs256(valid_claims()));
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->consumer, "alice");
    EXPECT_EQ(result.token->tier, "pro");
    EXPECT_EQ(result.token->expires, kNow + 300s);
    EXPECT_TRUE(result.message.empty());
}

TEST_F(JwtVerifierTest, TierIsAbsentWhenTheTokenHasNone) {
    const auto result = verify(rs256(claims_without("tier")));
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->tier, std::nullopt);
}

TEST_F(JwtVerifierTest, ReadsTheConfiguredConsumerAndTierClaims) {
    auto config = issuer_config();
    config.consumer_claim = "client_id";
    config.tier_claim = "plan";
    const JwtVerifier custom(config, issuer_keys());
    const auto result =
        custom.verify(rs256(claims_with({{"client_id", "svc-7"}, {"plan", "free"}})), kNow);
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->consumer, "svc-7");
    EXPECT_EQ(result.token->tier, "free");
}

TEST_F(JwtVerifierTest, AcceptsFractionalNumericDates) {
    const auto result = verify(rs256(claims_with({{"exp", kNowSeconds + 0.5}})));
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->expires, kNow + 500ms);
}

TEST_F(JwtVerifierTest, ClampsFarFutureExpiryInsteadOfOverflowing) {
    const auto result = verify(rs256(claims_with({{"exp", 1e300}})));
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.token->expires, Clock::time_point::max());
}

TEST_F(JwtVerifierTest, TokenWithoutKidIsCheckedAgainstEveryCompatibleKey) {
    const auto token = make_token({{"alg", "ES384"}}, valid_claims(), shared_key(KeyKind::p384));
    const auto result = verify(token);
    EXPECT_TRUE(result.ok()) << result.message;
}

TEST_F(JwtVerifierTest, ExposesItsIssuerConfiguration) {
    EXPECT_EQ(verifier.issuer().issuer, kIssuer);
}

// --- Time claims ----------------------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesAnExpiredToken) {
    const auto result = verify(rs256(claims_with({{"exp", kNowSeconds - 72}})));
    expect_failure(result, JwtFailure::expired);
    EXPECT_THAT(result.message, HasSubstr("expired 72 s ago"));
}

TEST_F(JwtVerifierTest, AcceptsAnExpiredTokenWithinTheLeeway) {
    EXPECT_TRUE(verify(rs256(claims_with({{"exp", kNowSeconds - 30}}))).ok());
    EXPECT_TRUE(verify(rs256(claims_with({{"exp", kNowSeconds - 29}}))).ok());
    expect_failure(verify(rs256(claims_with({{"exp", kNowSeconds - 31}}))), JwtFailure::expired);
}

TEST_F(JwtVerifierTest, HonoursAConfiguredLeeway) {
    auto config = issuer_config();
    config.leeway = 0s;
    const JwtVerifier strict(config, issuer_keys());
    expect_failure(strict.verify(rs256(claims_with({{"exp", kNowSeconds - 1}})), kNow),
                   JwtFailure::expired);
    EXPECT_TRUE(strict.verify(rs256(claims_with({{"exp", kNowSeconds}})), kNow).ok());
}

TEST_F(JwtVerifierTest, RefusesATokenBeforeItsNotBefore) {
    const auto result = verify(rs256(claims_with({{"nbf", kNowSeconds + 120}})));
    expect_failure(result, JwtFailure::not_yet_valid);
    EXPECT_THAT(result.message, HasSubstr("120 s"));
}

TEST_F(JwtVerifierTest, AcceptsNotBeforeWithinTheLeeway) {
    EXPECT_TRUE(verify(rs256(claims_with({{"nbf", kNowSeconds + 30}}))).ok());
    EXPECT_TRUE(verify(rs256(claims_with({{"nbf", kNowSeconds - 1000}}))).ok());
}

TEST_F(JwtVerifierTest, RefusesATokenIssuedInTheFuture) {
    const auto result = verify(rs256(claims_with({{"iat", kNowSeconds + 3600}})));
    expect_failure(result, JwtFailure::not_yet_valid);
    EXPECT_THAT(result.message, HasSubstr("issued 3600 s in the future"));
}

TEST_F(JwtVerifierTest, AcceptsIssuedAtWithinTheLeeway) {
    EXPECT_TRUE(verify(rs256(claims_with({{"iat", kNowSeconds + 30}}))).ok());
    EXPECT_TRUE(verify(rs256(claims_without("iat"))).ok());
}

TEST_F(JwtVerifierTest, RefusesATokenWithoutExp) {
    const auto result = verify(rs256(claims_without("exp")));
    expect_failure(result, JwtFailure::missing_claim);
    EXPECT_THAT(result.message, HasSubstr("exp"));
}

TEST_F(JwtVerifierTest, RefusesNonNumericTimeClaims) {
    expect_failure(verify(rs256(claims_with({{"exp", std::to_string(kNowSeconds + 300)}}))),
                   JwtFailure::malformed);
    expect_failure(verify(rs256(claims_with({{"exp", true}}))), JwtFailure::malformed);
    expect_failure(verify(rs256(claims_with({{"nbf", "0"}}))), JwtFailure::malformed);
    expect_failure(verify(rs256(claims_with({{"iat", nullptr}}))), JwtFailure::malformed);
}

// --- Issuer, audience, consumer -------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesAnotherIssuer) {
    expect_failure(verify(rs256(claims_with({{"iss", "https://evil.example.com/"}}))),
                   JwtFailure::wrong_issuer);
    // Exact comparison: no normalisation of the trailing slash or case.
    expect_failure(verify(rs256(claims_with({{"iss", "https://auth.example.com"}}))),
                   JwtFailure::wrong_issuer);
    expect_failure(verify(rs256(claims_with({{"iss", "HTTPS://AUTH.EXAMPLE.COM/"}}))),
                   JwtFailure::wrong_issuer);
    expect_failure(verify(rs256(claims_with({{"iss", 42}}))), JwtFailure::wrong_issuer);
    expect_failure(verify(rs256(claims_without("iss"))), JwtFailure::missing_claim);
}

TEST_F(JwtVerifierTest, RefusesAStringAudienceThatIsNotAccepted) {
    const auto result = verify(rs256(claims_with({{"aud", "someone-else"}})));
    expect_failure(result, JwtFailure::wrong_audience);
    EXPECT_EQ(result.message, "audience does not include an accepted value");
}

TEST_F(JwtVerifierTest, RefusesAnArrayAudienceWithoutAnAcceptedValue) {
    expect_failure(verify(rs256(claims_with({{"aud", {"a", "b"}}}))), JwtFailure::wrong_audience);
    expect_failure(verify(rs256(claims_with({{"aud", json::array()}}))),
                   JwtFailure::wrong_audience);
}

TEST_F(JwtVerifierTest, AcceptsAnyConfiguredAudienceInStringOrArrayForm) {
    EXPECT_TRUE(verify(rs256(claims_with({{"aud", "other-gateway"}}))).ok());
    EXPECT_TRUE(verify(rs256(claims_with({{"aud", {"a", "llmgw"}}}))).ok());
}

TEST_F(JwtVerifierTest, RefusesMissingOrMistypedAudience) {
    expect_failure(verify(rs256(claims_without("aud"))), JwtFailure::missing_claim);
    expect_failure(verify(rs256(claims_with({{"aud", 1}}))), JwtFailure::malformed);
    expect_failure(verify(rs256(claims_with({{"aud", {"llmgw", 1}}}))), JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, DoesNotCheckAudienceWhenNoneIsConfigured) {
    auto config = issuer_config();
    config.audiences.clear();
    const JwtVerifier open(config, issuer_keys());
    EXPECT_TRUE(open.verify(rs256(claims_with({{"aud", "anything"}})), kNow).ok());
    EXPECT_TRUE(open.verify(rs256(claims_without("aud")), kNow).ok());
}

TEST_F(JwtVerifierTest, RefusesATokenWithoutSubject) {
    const auto result = verify(rs256(claims_without("sub")));
    expect_failure(result, JwtFailure::missing_claim);
    EXPECT_THAT(result.message, HasSubstr("\"sub\""));
    expect_failure(verify(rs256(claims_with({{"sub", ""}}))), JwtFailure::missing_claim);
    expect_failure(verify(rs256(claims_with({{"sub", 123}}))), JwtFailure::missing_claim);
}

TEST_F(JwtVerifierTest, RefusesATierThatIsNotAString) {
    expect_failure(verify(rs256(claims_with({{"tier", {"pro"}}}))), JwtFailure::malformed);
}

// --- Algorithm pinning ----------------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesAlgNoneEvenWhenConfigured) {
    auto config = issuer_config();
    config.algorithms.push_back("none");
    config.algorithms.push_back("None");
    config.algorithms.push_back("NONE");
    const JwtVerifier careless(config, issuer_keys());
    for (const char* none : {"none", "None", "NONE", "nOnE"}) {
        const json header = {{"alg", none}, {"kid", "rsa"}};
        const auto unsigned_token = encode_json(header) + "." + encode_json(valid_claims()) + ".";
        expect_failure(careless.verify(unsigned_token, kNow), JwtFailure::unsupported_algorithm);
        // Even with a (real RS256) signature attached.
        const auto with_signature = make_token(header, valid_claims(), [](std::string_view input) {
            return shared_key(KeyKind::rsa2048).sign("RS256", input);
        });
        expect_failure(careless.verify(with_signature, kNow), JwtFailure::unsupported_algorithm);
    }
}

TEST_F(JwtVerifierTest, RefusesAnAlgorithmThatIsNotConfigured) {
    const JwtVerifier rs256_only(issuer_config({"RS256"}), issuer_keys());
    EXPECT_TRUE(rs256_only.verify(signed_token("RS256"), kNow).ok());
    for (const char* alg : {"RS384", "PS256", "ES256", "EdDSA"}) {
        const auto result = rs256_only.verify(signed_token(alg), kNow);
        expect_failure(result, JwtFailure::unsupported_algorithm);
        EXPECT_THAT(result.message, HasSubstr(alg));
    }
}

TEST_F(JwtVerifierTest, AcceptsNothingWhenNoAlgorithmIsConfigured) {
    const JwtVerifier none_configured(issuer_config({}), issuer_keys());
    expect_failure(none_configured.verify(signed_token("RS256"), kNow),
                   JwtFailure::unsupported_algorithm);
}

TEST_F(JwtVerifierTest, RefusesUnknownAlgorithmsAndCaseVariants) {
    for (const char* alg : {"rs256", "Rs256", "HS1", "ES256K", "Ed25519", "RSA-OAEP", ""}) {
        const auto token =
            make_token({{"alg", alg}, {"kid", "rsa"}}, valid_claims(), [](std::string_view input) {
                return shared_key(KeyKind::rsa2048).sign("RS256", input);
            });
        expect_failure(verify(token), JwtFailure::unsupported_algorithm);
    }
}

TEST_F(JwtVerifierTest, RefusesHs256SignedWithTheRsaPublicKeyAsSecret) {
    const auto& rsa = shared_key(KeyKind::rsa2048);
    const auto pem_token =
        make_hmac_token({{"alg", "HS256"}, {"kid", "rsa"}}, valid_claims(), rsa.public_pem());
    const auto der_token =
        make_hmac_token({{"alg", "HS256"}, {"kid", "rsa"}}, valid_claims(), rsa.public_der());
    const auto no_kid_token = make_hmac_token({{"alg", "HS256"}}, valid_claims(), rsa.public_pem());
    // HS256 is configured, yet the issuer's keys are RSA: no key may check an HMAC.
    for (const auto& token : {pem_token, der_token, no_kid_token})
        expect_failure(verify(token), JwtFailure::unknown_key);
    // The usual configuration, without HS256, stops it even earlier.
    const JwtVerifier rsa_only(issuer_config({"RS256"}), issuer_keys());
    for (const auto& token : {pem_token, der_token, no_kid_token})
        expect_failure(rsa_only.verify(token, kNow), JwtFailure::unsupported_algorithm);
}

TEST_F(JwtVerifierTest, RefusesAnRsaTokenAgainstAnHmacSecret) {
    const JwtVerifier hmac_issuer(issuer_config(),
                                  std::make_shared<const KeySet>(KeySet::from_secret(kSecret)));
    expect_failure(hmac_issuer.verify(signed_token("RS256"), kNow), JwtFailure::unknown_key);
    EXPECT_TRUE(hmac_issuer.verify(signed_token("HS256"), kNow).ok());
}

TEST_F(JwtVerifierTest, RefusesEs256TokenNamingAP384Key) {
    const auto token =
        make_token({{"alg", "ES256"}, {"kid", "p384"}}, valid_claims(), shared_key(KeyKind::p384));
    expect_failure(verify(token), JwtFailure::unknown_key);
}

TEST_F(JwtVerifierTest, RefusesAnAlgorithmOtherThanTheJwkOwn) {
    auto set =
        KeySet::parse(jwks_document({shared_key(KeyKind::rsa2048).jwk("rsa", "RS256")}), nullptr);
    const JwtVerifier pinned(issuer_config(), std::make_shared<const KeySet>(std::move(*set)));
    EXPECT_TRUE(pinned.verify(signed_token("RS256"), kNow).ok());
    expect_failure(pinned.verify(signed_token("RS512"), kNow), JwtFailure::unknown_key);
    expect_failure(pinned.verify(signed_token("PS256"), kNow), JwtFailure::unknown_key);
}

TEST_F(JwtVerifierTest, IgnoresAKeyEmbeddedInTheHeader) {
    const TestKey attacker(KeyKind::p256);
    const json header = {{"alg", "ES256"}, {"jwk", attacker.jwk()}, {"jku", "https://evil/"}};
    expect_failure(verify(make_token(header, valid_claims(), attacker)), JwtFailure::bad_signature);
    auto with_kid = header;
    with_kid["kid"] = "attacker";
    expect_failure(verify(make_token(with_kid, valid_claims(), attacker)), JwtFailure::unknown_key);
}

// --- Keys -----------------------------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesAnUnknownKid) {
    const auto token = make_token({{"alg", "RS256"}, {"kid", "rsa-2"}}, valid_claims(),
                                  shared_key(KeyKind::rsa2048));
    expect_failure(verify(token), JwtFailure::unknown_key);
}

TEST_F(JwtVerifierTest, TreatsAKidWithPathCharactersAsAnUnknownKey) {
    for (const char* kid : {"../../etc/passwd", "/dev/zero", "rsa\n", "rsa ", "RSA", "' OR 1=1 --",
                            "%2e%2e%2f", "rsa/../rsa"}) {
        const auto token = make_token({{"alg", "RS256"}, {"kid", kid}}, valid_claims(),
                                      shared_key(KeyKind::rsa2048));
        expect_failure(verify(token), JwtFailure::unknown_key);
    }
}

TEST_F(JwtVerifierTest, RefusesAKidThatIsNotAString) {
    const auto token =
        make_token({{"alg", "RS256"}, {"kid", 1}}, valid_claims(), shared_key(KeyKind::rsa2048));
    expect_failure(verify(token), JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, RefusesEverythingWithoutKeys) {
    const JwtVerifier keyless(issuer_config(), nullptr);
    expect_failure(keyless.verify(signed_token("RS256"), kNow), JwtFailure::unknown_key);
}

TEST_F(JwtVerifierTest, RotatesKeysWithoutDroppingTokensOfEitherKey) {
    const auto& old_key = shared_key(KeyKind::rsa2048);
    const auto& new_key = shared_key(KeyKind::rsa2048, 1);
    const auto old_token = make_token({{"alg", "RS256"}, {"kid", "2023"}}, valid_claims(), old_key);
    const auto new_token = make_token({{"alg", "RS256"}, {"kid", "2024"}}, valid_claims(), new_key);
    auto both = KeySet::parse(jwks_document({old_key.jwk("2023"), new_key.jwk("2024")}), nullptr);
    auto only_new = KeySet::parse(jwks_document({new_key.jwk("2024")}), nullptr);

    JwtVerifier rotating(issuer_config(), std::make_shared<const KeySet>(std::move(*both)));
    EXPECT_TRUE(rotating.verify(old_token, kNow).ok());
    EXPECT_TRUE(rotating.verify(new_token, kNow).ok());

    rotating.replace_keys(std::make_shared<const KeySet>(std::move(*only_new)));
    expect_failure(rotating.verify(old_token, kNow), JwtFailure::unknown_key);
    EXPECT_TRUE(rotating.verify(new_token, kNow).ok());
}

TEST_F(JwtVerifierTest, VerifiesOnSeveralThreadsWhileKeysAreReplaced) {
    const auto token = signed_token("ES256");
    JwtVerifier shared(issuer_config(), issuer_keys());
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 300; ++i)
                if (!shared.verify(token, kNow).ok()) ++failures;
        });
    std::thread refresher([&] {
        while (!stop) shared.replace_keys(issuer_keys());
    });
    for (auto& thread : threads) thread.join();
    stop = true;
    refresher.join();
    EXPECT_EQ(failures, 0);
}

// --- Signatures -----------------------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesATamperedHeader) {
    const auto token = signed_token("RS256");
    const auto dot = token.find('.');
    const json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rsa"}, {"x", 1}};
    expect_failure(verify(encode_json(header) + token.substr(dot)), JwtFailure::bad_signature);
}

TEST_F(JwtVerifierTest, RefusesSignaturesOfTheWrongLength) {
    for (const char* alg : {"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"}) {
        const auto token = signed_token(alg);
        const auto dot = token.rfind('.');
        const auto signature = *base64url_decode(token.substr(dot + 1));
        const auto prefix = token.substr(0, dot + 1);
        expect_failure(verify(prefix + base64url_encode(signature.substr(1))),
                       JwtFailure::bad_signature);
        expect_failure(verify(prefix + base64url_encode(signature + '\0')),
                       JwtFailure::bad_signature);
        expect_failure(verify(prefix), JwtFailure::bad_signature);
    }
}

TEST_F(JwtVerifierTest, RefusesAnEcdsaSignatureInDerForm) {
    const auto& key = shared_key(KeyKind::p256);
    const auto token = make_token(
        {{"alg", "ES256"}, {"kid", "p256"}}, valid_claims(), [&](std::string_view input) {
            const auto raw = key.sign("ES256", input);
            // Re-encode r||s as DER, as a careless signer would.
            std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
            return der;
        });
    expect_failure(verify(token), JwtFailure::bad_signature);
}

TEST_F(JwtVerifierTest, RefusesAnHmacTokenSignedWithAnotherSecret) {
    const JwtVerifier hmac_issuer(issuer_config(),
                                  std::make_shared<const KeySet>(KeySet::from_secret(kSecret)));
    const auto token = make_hmac_token({{"alg", "HS256"}}, valid_claims(), kSecret + "x");
    expect_failure(hmac_issuer.verify(token, kNow), JwtFailure::bad_signature);
}

// --- Malformed input ------------------------------------------------------------------------

TEST_F(JwtVerifierTest, RefusesTruncatedTokens) {
    const auto token = signed_token("RS256");
    const auto second_dot = token.rfind('.');
    expect_failure(verify(token.substr(0, second_dot)), JwtFailure::malformed);
    expect_failure(verify(token.substr(0, token.find('.'))), JwtFailure::malformed);
    expect_failure(verify(token.substr(0, token.find('.') + 1)), JwtFailure::malformed);
    expect_failure(verify(token.substr(0, token.size() - 10)), JwtFailure::bad_signature);
    for (std::size_t length = 0; length < token.size(); length += 7)
        EXPECT_FALSE(verify(token.substr(0, length)).ok()) << length;
}

TEST_F(JwtVerifierTest, RefusesGarbage) {
    for (const std::string garbage :
         {"", "a.b", ".", "..", "...", "....", "a.b.c.d", "a..c", ".b.c", "not a token",
          "Bearer x.y.z", "\xff\xfe.\x01.", "eyJhbGciOiJSUzI1NiJ9", "eyJhbGciOiJSUzI1NiJ9.e30",
          "eyJhbGciOiJSUzI1NiJ9.e30.e30.e30"})
        expect_failure(verify(garbage), JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, RefusesATokenLongerThan16KiB) {
    expect_failure(verify(std::string(20 * 1024, 'A')), JwtFailure::malformed);
    const auto big = rs256(claims_with({{"padding", std::string(17 * 1024, 'p')}}));
    const auto result = verify(big);
    expect_failure(result, JwtFailure::malformed);
    EXPECT_THAT(result.message, HasSubstr("16 KiB"));
    std::string junk(20 * 1024, '.');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 % 256);
    expect_failure(verify(junk), JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, RefusesPartsThatAreNotBase64Url) {
    const auto token = signed_token("RS256");
    const auto first = token.find('.');
    const auto second = token.rfind('.');
    for (const std::string bad : {"a+b", "a/b", "ab==", "a b", "a%20", "\xc3\xa9"}) {
        expect_failure(verify(bad + token.substr(first)), JwtFailure::malformed);
        expect_failure(verify(token.substr(0, first + 1) + bad + token.substr(second)),
                       JwtFailure::malformed);
        expect_failure(verify(token.substr(0, second + 1) + bad), JwtFailure::malformed);
    }
}

TEST_F(JwtVerifierTest, RefusesAHeaderThatIsNotAJsonObject) {
    const auto rest = "." + encode_json(valid_claims()) + ".c2ln";
    for (const std::string header : {"not json", "[\"RS256\"]", "\"RS256\"", "42", "null", "{"})
        expect_failure(verify(base64url_encode(header) + rest), JwtFailure::malformed);
    expect_failure(verify(encode_json({{"typ", "JWT"}}) + rest), JwtFailure::malformed);
    expect_failure(verify(encode_json({{"alg", 256}}) + rest), JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, RefusesASignedPayloadThatIsNotAJsonObject) {
    const auto& rsa = shared_key(KeyKind::rsa2048);
    const std::vector<json> payloads = {json::array({1, 2}), json("alice"), json(42),
                                        json(nullptr)};
    for (const json& payload : payloads)
        expect_failure(verify(make_token({{"alg", "RS256"}, {"kid", "rsa"}}, payload, rsa)),
                       JwtFailure::malformed);
    const auto input =
        encode_json({{"alg", "RS256"}, {"kid", "rsa"}}) + "." + base64url_encode("{not json");
    expect_failure(verify(input + "." + base64url_encode(rsa.sign("RS256", input))),
                   JwtFailure::malformed);
}

TEST_F(JwtVerifierTest, RefusesCriticalHeaderExtensions) {
    const auto token = make_token({{"alg", "RS256"}, {"kid", "rsa"}, {"crit", {"exp"}}, {"exp", 1}},
                                  valid_claims(), shared_key(KeyKind::rsa2048));
    expect_failure(verify(token), JwtFailure::malformed);
    const auto unencoded =
        make_token({{"alg", "RS256"}, {"kid", "rsa"}, {"b64", false}, {"crit", {"b64"}}},
                   valid_claims(), shared_key(KeyKind::rsa2048));
    expect_failure(verify(unencoded), JwtFailure::malformed);
}

// --- Reporting ------------------------------------------------------------------------------

TEST_F(JwtVerifierTest, MessagesNeverContainTheTokenOrItsParts) {
    const auto good = signed_token("RS256");
    const auto signature = good.substr(good.rfind('.') + 1);
    const std::vector<std::string> tokens = {
        rs256(claims_with({{"exp", kNowSeconds - 1000}})),
        rs256(claims_with({{"aud", "nope"}})),
        rs256(claims_with({{"iss", "https://evil/"}})),
        make_token({{"alg", "RS256"}, {"kid", "../../etc/passwd"}}, valid_claims(),
                   shared_key(KeyKind::rsa2048)),
        good.substr(0, good.size() - 4) + "AAAA",
        good + "x",
        good.substr(0, good.rfind('.')),
    };
    for (const auto& token : tokens) {
        const auto result = verify(token);
        ASSERT_FALSE(result.ok());
        for (const auto& part : {token.substr(0, token.find('.')), signature,
                                 std::string("etc/passwd"), std::string("https://evil/")})
            EXPECT_THAT(result.message, Not(HasSubstr(part)));
    }
}

TEST(JwtFailureNames, AreStableSnakeCaseMetricLabels) {
    using llmgw::auth::to_string;
    EXPECT_EQ(to_string(JwtFailure::malformed), "malformed");
    EXPECT_EQ(to_string(JwtFailure::unsupported_algorithm), "unsupported_algorithm");
    EXPECT_EQ(to_string(JwtFailure::unknown_key), "unknown_key");
    EXPECT_EQ(to_string(JwtFailure::bad_signature), "bad_signature");
    EXPECT_EQ(to_string(JwtFailure::expired), "expired");
    EXPECT_EQ(to_string(JwtFailure::not_yet_valid), "not_yet_valid");
    EXPECT_EQ(to_string(JwtFailure::wrong_issuer), "wrong_issuer");
    EXPECT_EQ(to_string(JwtFailure::wrong_audience), "wrong_audience");
    EXPECT_EQ(to_string(JwtFailure::missing_claim), "missing_claim");
}

// --- peek_issuer ----------------------------------------------------------------------------

TEST(JwtPeekIssuer, ReadsTheUnverifiedIssuer) {
    EXPECT_EQ(peek_issuer(signed_token("ES256")), kIssuer);
    const auto forged =
        encode_json({{"alg", "none"}}) + "." + encode_json({{"iss", "https://other/"}}) + ".";
    EXPECT_EQ(peek_issuer(forged), "https://other/");
}

TEST(JwtPeekIssuer, IsEmptyForMalformedTokensOrMissingIssuer) {
    EXPECT_EQ(peek_issuer(""), std::nullopt);
    EXPECT_EQ(peek_issuer("a.b"), std::nullopt);
    EXPECT_EQ(peek_issuer("a.b.c"), std::nullopt);
    EXPECT_EQ(peek_issuer(std::string(20 * 1024, 'A')), std::nullopt);
    EXPECT_EQ(peek_issuer("e30." + encode_json({{"iss", 7}}) + ".sig"), std::nullopt);
    EXPECT_EQ(peek_issuer("e30." + encode_json({{"sub", "x"}}) + ".sig"), std::nullopt);
    EXPECT_EQ(peek_issuer("e30." + base64url_encode("[\"iss\"]") + ".sig"), std::nullopt);
    EXPECT_EQ(peek_issuer("e30." + encode_json({{"iss", "x"}}) + ".s.t"), std::nullopt);
}
