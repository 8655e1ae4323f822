// Strict base64url: the RFC 4648 vectors, and every non-canonical spelling refused.
#include "llmgw/auth/base64url.hpp"

#include <gtest/gtest.h>

using llmgw::auth::base64url_decode;
using llmgw::auth::base64url_encode;

TEST(Base64Url, EncodesTheRfc4648VectorsWithoutPadding) {
    EXPECT_EQ(base64url_encode(""), "");
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_encode("fo"), "Zm8");
    EXPECT_EQ(base64url_encode("foo"), "Zm9v");
    EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
    EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
    EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
    EXPECT_EQ(base64url_decode("-_-_"), std::string("\xfb\xff\xbf"));
}

TEST(Base64Url, RoundTripsEveryByteAtEveryLength) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes) << "length " << i;
        bytes += static_cast<char>(i * 37 + 11);
    }
}

TEST(Base64Url, DecodesTheEmptyString) {
    EXPECT_EQ(base64url_decode(""), std::string());
}

TEST(Base64Url, RefusesPadding) {
    EXPECT_FALSE(base64url_decode("Zg=="));
    EXPECT_FALSE(base64url_decode("Zm8="));
    EXPECT_FALSE(base64url_decode("Zm9v="));
}

TEST(Base64Url, RefusesTheStandardAlphabetsPlusAndSlash) {
    EXPECT_FALSE(base64url_decode("+/+/"));
    EXPECT_FALSE(base64url_decode("ab/c"));
}

TEST(Base64Url, RefusesWhitespaceControlAndHighBytes) {
    EXPECT_FALSE(base64url_decode("Zm9v Yg"));
    EXPECT_FALSE(base64url_decode("Zm9v\nYg"));
    EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
    EXPECT_FALSE(base64url_decode("Zm9\xc3\xa9"));
    EXPECT_FALSE(base64url_decode("Zm9v."));
}

TEST(Base64Url, RefusesALengthNoEncodingHas) {
    EXPECT_FALSE(base64url_decode("Z"));
    EXPECT_FALSE(base64url_decode("Zm9vY"));
}

TEST(Base64Url, RefusesNonZeroUnusedBitsSoEachValueHasOneSpelling) {
    EXPECT_EQ(base64url_decode("Zg"), std::string("f"));
    EXPECT_FALSE(base64url_decode("Zh"));  // same byte, a low bit set
    EXPECT_EQ(base64url_decode("Zm8"), std::string("fo"));
    EXPECT_FALSE(base64url_decode("Zm9"));  // same bytes, a low bit set
}
