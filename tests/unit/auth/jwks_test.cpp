// KeySet: which JWKS documents and keys are taken, which are skipped and why, and key lookup.
#include "llmgw/auth/jwks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/jose_test_keys.hpp"

using llmgw::auth::base64url_decode;
using llmgw::auth::base64url_encode;
using llmgw::auth::Curve;
using llmgw::auth::KeySet;
using llmgw::auth::KeyType;
using llmgw::auth::testing::json;
using llmgw::auth::testing::jwks_document;
using llmgw::auth::testing::KeyKind;
using llmgw::auth::testing::shared_key;
using testing::HasSubstr;

namespace {

KeySet parse_ok(const std::string& document) {
    std::string error;
    auto set = KeySet::parse(document, &error);
    if (!set) ADD_FAILURE() << "JWKS refused: " << error;
    return set ? std::move(*set) : KeySet::from_secret("");
}

std::string all_warnings(const KeySet& set) {
    std::string out;
    for (const auto& warning : set.warnings()) out += warning + "\n";
    return out;
}

}  // namespace

TEST(Jwks, ParsesRsaEcAndEd25519Keys) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::rsa2048).jwk("rsa"),
        shared_key(KeyKind::p256).jwk("p256"),
        shared_key(KeyKind::p384).jwk("p384"),
        shared_key(KeyKind::p521).jwk("p521"),
        shared_key(KeyKind::ed25519).jwk("ed"),
    }));
    ASSERT_EQ(set.keys().size(), 5u) << all_warnings(set);
    EXPECT_TRUE(set.warnings().empty()) << all_warnings(set);
    EXPECT_EQ(set.keys()[0].type(), KeyType::rsa);
    EXPECT_EQ(set.keys()[1].type(), KeyType::ec);
    EXPECT_EQ(set.keys()[1].curve(), Curve::p256);
    EXPECT_EQ(set.keys()[2].curve(), Curve::p384);
    EXPECT_EQ(set.keys()[3].curve(), Curve::p521);
    EXPECT_EQ(set.keys()[4].type(), KeyType::okp);
    EXPECT_EQ(set.keys()[4].curve(), Curve::ed25519);
}

TEST(Jwks, KeepsKidAndAlgWhenPresent) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::rsa2048).jwk("rsa-1", "PS256"),
        shared_key(KeyKind::p256).jwk(),
    }));
    ASSERT_EQ(set.keys().size(), 2u) << all_warnings(set);
    EXPECT_EQ(set.keys()[0].kid(), "rsa-1");
    EXPECT_EQ(set.keys()[0].alg(), "PS256");
    EXPECT_EQ(set.keys()[1].kid(), std::nullopt);
    EXPECT_EQ(set.keys()[1].alg(), std::nullopt);
}

TEST(Jwks, JwkAlgRestrictsWhichAlgorithmsTheKeyAccepts) {
    const auto set = parse_ok(jwks_document({shared_key(KeyKind::rsa2048).jwk("rsa", "RS256")}));
    ASSERT_EQ(set.keys().size(), 1u);
    EXPECT_TRUE(set.keys()[0].accepts("RS256"));
    EXPECT_FALSE(set.keys()[0].accepts("RS512"));
    EXPECT_FALSE(set.keys()[0].accepts("PS256"));
}

TEST(Jwks, KeysAcceptOnlyAlgorithmsOfTheirTypeAndCurve) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::rsa2048).jwk("rsa"),
        shared_key(KeyKind::p256).jwk("p256"),
        shared_key(KeyKind::ed25519).jwk("ed"),
    }));
    ASSERT_EQ(set.keys().size(), 3u);
    const auto& rsa = set.keys()[0];
    const auto& p256 = set.keys()[1];
    const auto& ed = set.keys()[2];
    for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
        EXPECT_TRUE(rsa.accepts(alg)) << alg;
    for (const char* alg : {"ES256", "EdDSA", "HS256", "none"})
        EXPECT_FALSE(rsa.accepts(alg)) << alg;
    EXPECT_TRUE(p256.accepts("ES256"));
    for (const char* alg : {"ES384", "ES512", "RS256", "HS256", "EdDSA"})
        EXPECT_FALSE(p256.accepts(alg)) << alg;
    EXPECT_TRUE(ed.accepts("EdDSA"));
    for (const char* alg : {"ES256", "RS256", "HS256"}) EXPECT_FALSE(ed.accepts(alg)) << alg;
}

TEST(Jwks, SkipsKeysNotMeantForSignatures) {
    auto enc = shared_key(KeyKind::rsa2048).jwk("enc");
    enc["use"] = "enc";
    auto sig = shared_key(KeyKind::p256).jwk("sig");
    sig["use"] = "sig";
    auto wrap_only = shared_key(KeyKind::p384).jwk("wrap");
    wrap_only["key_ops"] = {"wrapKey"};
    const auto set = parse_ok(jwks_document({enc, sig, wrap_only}));
    ASSERT_EQ(set.keys().size(), 1u);
    EXPECT_EQ(set.keys()[0].kid(), "sig");
    EXPECT_THAT(all_warnings(set), HasSubstr("\"enc\""));
    EXPECT_THAT(all_warnings(set), HasSubstr("key_ops"));
}

TEST(Jwks, SkipsMalformedKeysWithAWarningEachAndKeepsTheRest) {
    auto missing_n = shared_key(KeyKind::rsa2048).jwk("missing-n");
    missing_n.erase("n");
    auto bad_base64 = shared_key(KeyKind::rsa2048).jwk("bad-base64");
    bad_base64["e"] = "AQAB==";
    auto ed448 = json{{"kty", "OKP"}, {"crv", "Ed448"}, {"x", "AAAA"}, {"kid", "ed448"}};
    auto secp256k1 = shared_key(KeyKind::p256).jwk("k1");
    secp256k1["crv"] = "secp256k1";
    auto numeric_kid = shared_key(KeyKind::p256).jwk();
    numeric_kid["kid"] = 7;
    const auto set = parse_ok(jwks_document({
        json("not an object"),
        json{{"kid", "no-kty"}},
        json{{"kty", "XYZ"}, {"kid", "xyz"}},
        missing_n,
        bad_base64,
        ed448,
        secp256k1,
        numeric_kid,
        shared_key(KeyKind::ed25519).jwk("good"),
    }));
    ASSERT_EQ(set.keys().size(), 1u);
    EXPECT_EQ(set.keys()[0].kid(), "good");
    EXPECT_EQ(set.warnings().size(), 8u) << all_warnings(set);
    const auto warnings = all_warnings(set);
    EXPECT_THAT(warnings, HasSubstr("JWKS key #0 skipped: not a JSON object"));
    EXPECT_THAT(warnings, HasSubstr("(kid \"no-kty\") skipped: has no \"kty\""));
    EXPECT_THAT(warnings, HasSubstr("(kid \"xyz\") skipped: unsupported \"kty\""));
    EXPECT_THAT(warnings, HasSubstr("(kid \"missing-n\") skipped: has no \"n\""));
    EXPECT_THAT(warnings, HasSubstr("(kid \"bad-base64\") skipped: \"e\" is not"));
    EXPECT_THAT(warnings, HasSubstr("(kid \"ed448\") skipped: OKP curve"));
    EXPECT_THAT(warnings, HasSubstr("(kid \"k1\") skipped: EC curve"));
    EXPECT_THAT(warnings, HasSubstr("\"kid\" is not a string"));
}

TEST(Jwks, SkipsEcPointNotOnTheCurve) {
    auto off_curve = shared_key(KeyKind::p256).jwk("off-curve");
    auto y = *base64url_decode(off_curve["y"].get<std::string>());
    y.back() = static_cast<char>(y.back() ^ 1);
    off_curve["y"] = base64url_encode(y);
    const auto set = parse_ok(jwks_document({off_curve}));
    EXPECT_TRUE(set.keys().empty());
    EXPECT_THAT(all_warnings(set), HasSubstr("not on curve P-256"));
}

TEST(Jwks, SkipsEcCoordinatesShorterThanTheField) {
    auto short_x = shared_key(KeyKind::p384).jwk("short");
    auto x = *base64url_decode(short_x["x"].get<std::string>());
    short_x["x"] = base64url_encode(x.substr(1));
    const auto set = parse_ok(jwks_document({short_x}));
    EXPECT_TRUE(set.keys().empty());
    EXPECT_THAT(all_warnings(set), HasSubstr("not 48 bytes"));
}

TEST(Jwks, SkipsEcKeyDeclaringTheWrongCurve) {
    auto lying = shared_key(KeyKind::p256).jwk("lying");
    lying["crv"] = "P-384";
    const auto set = parse_ok(jwks_document({lying}));
    EXPECT_TRUE(set.keys().empty());
}

TEST(Jwks, SkipsRsaKeysShorterThan2048Bits) {
    const auto set = parse_ok(jwks_document({shared_key(KeyKind::rsa1024).jwk("short")}));
    EXPECT_TRUE(set.keys().empty());
    EXPECT_THAT(all_warnings(set), HasSubstr("1024 bits"));
}

TEST(Jwks, SkipsSymmetricKeysBecauseSecretsComeFromConfiguration) {
    const auto set = parse_ok(jwks_document(
        {json{{"kty", "oct"}, {"k", base64url_encode("0123456789abcdef0123456789abcdef")}}}));
    EXPECT_TRUE(set.keys().empty());
    EXPECT_THAT(all_warnings(set), HasSubstr("oct"));
}

TEST(Jwks, SkipsKeysWhoseAlgDoesNotFitTheKey) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::rsa2048).jwk("rsa-es", "ES256"),
        shared_key(KeyKind::p256).jwk("p256-es384", "ES384"),
        shared_key(KeyKind::rsa2048).jwk("rsa-oaep", "RSA-OAEP"),
        shared_key(KeyKind::rsa2048).jwk("rsa-none", "none"),
        shared_key(KeyKind::rsa2048).jwk("rsa-hs", "HS256"),
    }));
    EXPECT_TRUE(set.keys().empty());
    EXPECT_EQ(set.warnings().size(), 6u) << all_warnings(set);  // five keys + "no usable keys"
}

TEST(Jwks, WarnsWhenTheDocumentHasNoUsableKeys) {
    const auto set = parse_ok(R"({"keys":[]})");
    EXPECT_TRUE(set.keys().empty());
    EXPECT_THAT(all_warnings(set), HasSubstr("no usable keys"));
}

TEST(Jwks, RefusesDocumentsThatAreNotJson) {
    std::string error;
    EXPECT_FALSE(KeySet::parse("not json", &error));
    EXPECT_THAT(error, HasSubstr("not valid JSON"));
    EXPECT_FALSE(KeySet::parse("", &error));
    EXPECT_FALSE(KeySet::parse(R"({"keys":[)", &error));
    EXPECT_FALSE(KeySet::parse("not json", nullptr));
}

TEST(Jwks, RefusesDocumentsWithoutAKeysArray) {
    std::string error;
    EXPECT_FALSE(KeySet::parse("{}", &error));
    EXPECT_THAT(error, HasSubstr("\"keys\" array"));
    EXPECT_FALSE(KeySet::parse(R"({"keys":{}})", &error));
    EXPECT_FALSE(KeySet::parse(R"({"keys":"x"})", &error));
    EXPECT_FALSE(KeySet::parse(R"([{"kty":"RSA"}])", &error));
    EXPECT_THAT(error, HasSubstr("not a JSON object"));
}

TEST(Jwks, FindsKeysByExactKid) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::p256).jwk("a"),
        shared_key(KeyKind::p384).jwk("b"),
        shared_key(KeyKind::p521).jwk("A"),
    }));
    const auto found = set.find("a");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0]->curve(), Curve::p256);
    EXPECT_TRUE(set.find("c").empty());
    EXPECT_TRUE(set.find("../../etc/passwd").empty());
    EXPECT_TRUE(set.find("").empty());
}

TEST(Jwks, TokenWithoutKidMayUseAnyKey) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::p256).jwk("a"),
        shared_key(KeyKind::p384).jwk(),
    }));
    EXPECT_EQ(set.find(std::nullopt).size(), 2u);
}

TEST(Jwks, KeysWithoutKidAreCandidatesWhenNoKidMatches) {
    const auto set = parse_ok(jwks_document({
        shared_key(KeyKind::p256).jwk("a"),
        shared_key(KeyKind::p384).jwk(),
    }));
    const auto by_a = set.find("a");
    ASSERT_EQ(by_a.size(), 1u);
    EXPECT_EQ(by_a[0]->curve(), Curve::p256);
    const auto by_other = set.find("other");
    ASSERT_EQ(by_other.size(), 1u);
    EXPECT_EQ(by_other[0]->curve(), Curve::p384);
}

TEST(Jwks, FromSecretHoldsOneOctKeyForHmacOnly) {
    const auto set = KeySet::from_secret(std::string(32, 's'));
    ASSERT_EQ(set.keys().size(), 1u);
    EXPECT_TRUE(set.warnings().empty());
    EXPECT_EQ(set.keys()[0].type(), KeyType::oct);
    EXPECT_EQ(set.keys()[0].kid(), std::nullopt);
    for (const char* alg : {"HS256", "HS384", "HS512"}) EXPECT_TRUE(set.keys()[0].accepts(alg));
    for (const char* alg : {"RS256", "ES256", "EdDSA", "none"})
        EXPECT_FALSE(set.keys()[0].accepts(alg));
}

TEST(Jwks, FromSecretWarnsAboutShortOrEmptySecrets) {
    EXPECT_THAT(KeySet::from_secret("short").warnings().at(0), HasSubstr("shorter than 32"));
    const auto empty = KeySet::from_secret("");
    EXPECT_TRUE(empty.keys().empty());
    EXPECT_THAT(empty.warnings().at(0), HasSubstr("empty"));
}

TEST(Jwks, VerifiesSignaturesWithTheParsedPublicKey) {
    const auto& key = shared_key(KeyKind::p256);
    const auto set = parse_ok(jwks_document({key.jwk("a")}));
    const auto signature = key.sign("ES256", "header.payload");
    EXPECT_TRUE(set.keys()[0].verify("ES256", "header.payload", signature));
    EXPECT_FALSE(set.keys()[0].verify("ES256", "header.payload!", signature));
    EXPECT_FALSE(set.keys()[0].verify("ES384", "header.payload", signature));
    EXPECT_FALSE(set.keys()[0].verify("ES256", "header.payload", signature.substr(1)));
}
