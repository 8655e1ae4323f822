// JWT access tokens through the real binary: JWKS from a file and from a URL (a fake identity
// provider), refusals, key rotation, and an identity provider that goes away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"
#include "llmgw/auth/authenticator.hpp"
#include "support/jose_test_keys.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using llmgw::auth::testing::KeyKind;
using llmgw::auth::testing::make_token;
using llmgw::auth::testing::shared_key;
using nlohmann::json;
using testing::HasSubstr;

namespace {

constexpr const char* issuer = "https://auth.example.test/";

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json claims(const std::string& subject, std::int64_t expires_in = 300) {
    return {{"iss", issuer},        {"aud", "llmgw"},
            {"sub", subject},       {"exp", now_seconds() + expires_in},
            {"iat", now_seconds()}, {"tier", "pro"}};
}

std::string token(const json& payload, const std::string& kid, KeyKind kind = KeyKind::rsa2048,
                  int generation = 0, const std::string& alg = "RS256") {
    return make_token({{"alg", alg}, {"typ", "JWT"}, {"kid", kid}}, payload,
                      shared_key(kind, generation));
}

std::string jwks_with(const std::string& kid, KeyKind kind = KeyKind::rsa2048, int generation = 0) {
    return llmgw::auth::testing::jwks_document({shared_key(kind, generation).jwk(kid)});
}

std::string routes_for(const FakeModel& model) {
    return "backends: { b: { endpoints: [ { url: \"" + model.url() +
           "\" } ] } }\n"
           "routes: [ { name: chat, backend: b, match: { path_prefix: /v1/ } } ]\n";
}

HttpResponse call(const RunningGateway& gateway, const std::string& bearer) {
    return http_request(gateway.port(),
                        {"POST",
                         "/v1/chat/completions",
                         {{"authorization", "Bearer " + bearer}, {"x-fake-echo", "1"}},
                         chat_body().dump()});
}

}  // namespace

TEST(JwtThroughGateway, TokensVerifiedWithAJwksFileAndRefusedForEveryBadReason) {
    auto model = FakeModel::start("m1");
    TempDir dir;
    const auto jwks = dir.write("jwks.json", jwks_with("k1"));
    auto gateway = RunningGateway::start(
        "tiers: { free: {}, pro: {} }\n"
        "jwt:\n  - issuer: \"" +
        std::string(issuer) + "\"\n    audiences: [llmgw]\n    jwks_file: " + jwks +
        "\n    algorithms: [RS256]\n    default_tier: free\n    leeway: 5s\n" + routes_for(model));

    const auto good = token(claims("user-42"), "k1");
    const auto ok = call(gateway, good);
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_FALSE(ok.json()["headers"].contains("authorization"));  // the token stays at the gateway

    auto expect_refused = [&](const std::string& bearer, const std::string& why) {
        const auto response = call(gateway, bearer);
        EXPECT_EQ(response.status, 401) << why;
        EXPECT_EQ(response.header("www-authenticate"), "Bearer") << why;
        EXPECT_EQ(response.json()["error"]["code"], "invalid_token") << why;
        EXPECT_THAT(response.body, testing::Not(HasSubstr(bearer.substr(bearer.size() - 20))))
            << why;
        return response.json()["error"]["message"].get<std::string>();
    };
    EXPECT_THAT(expect_refused(token(claims("user-42", -60), "k1"), "expired"),
                HasSubstr("expired"));
    auto wrong_audience = claims("user-42");
    wrong_audience["aud"] = "someone-else";
    EXPECT_THAT(expect_refused(token(wrong_audience, "k1"), "audience"), HasSubstr("audience"));
    auto unsigned_token =
        llmgw::auth::testing::make_token({{"alg", "none"}, {"kid", "k1"}}, claims("user-42"),
                                         [](std::string_view) { return std::string(); });
    expect_refused(unsigned_token, "alg none");
    expect_refused(token(claims("user-42"), "k1", KeyKind::rsa2048, 1), "signed by another key");
    expect_refused(token(claims("user-42"), "../../etc/passwd"), "kid with path characters");
    std::string tampered = good;
    tampered[tampered.find('.') + 5] ^= 1;
    expect_refused(tampered, "tampered payload");
    expect_refused(good.substr(0, good.size() / 2), "truncated");

    ASSERT_TRUE(gateway.wait_for_access_lines(8, 5s));
    const auto first = gateway.access_line_where("status", 200);
    EXPECT_EQ(first["consumer"], "user-42");
    EXPECT_EQ(first["tier"], "pro");
    const auto metrics = http_request(gateway.admin_port(), {"GET", "/metrics"}).body;
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_auth_failures_total{reason="expired"} 1)"));
    EXPECT_THAT(metrics, HasSubstr(R"(llmgw_auth_failures_total{reason="wrong_audience"} 1)"));
    EXPECT_THAT(gateway.process().stdout_text() + gateway.process().stderr_text(),
                testing::Not(HasSubstr(good.substr(good.rfind('.')))));
}

TEST(JwtThroughGateway, KeysFromAUrlFollowRotationAndSurviveTheProviderGoingAway) {
    auto model = FakeModel::start("m1");
    TempDir dir;
    const auto jwks_path = dir.write("jwks.json", jwks_with("old"));
    auto idp = std::make_unique<FakeModel>(FakeModel::start("idp", {"--jwks", jwks_path}));
    auto gateway = RunningGateway::start(
        "tiers: { pro: {} }\n"
        "jwt:\n  - issuer: \"" +
        std::string(issuer) + "\"\n    audiences: [llmgw]\n    jwks_url: \"" + idp->url() +
        "/.well-known/jwks.json\"\n    algorithms: [RS256, ES256]\n    default_tier: pro\n    "
        "jwks_refresh: 1h\n" +
        routes_for(model));
    ASSERT_EQ(call(gateway, token(claims("alice"), "old")).status, 200);

    // The provider rotates to a new key: a token with the new kid makes llmgw fetch again.
    dir.write("jwks.json", jwks_with("new", KeyKind::p256));
    const auto rotated = token(claims("alice"), "new", KeyKind::p256, 0, "ES256");
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline &&
           (status = call(gateway, rotated).status) != 200)
        std::this_thread::sleep_for(
            20ms);  // bounded by the deadline: the refetch runs in the background
    ASSERT_EQ(status, 200);
    const auto fetches = idp->stats()["by_path"]["/.well-known/jwks.json"].get<int>();
    EXPECT_EQ(fetches, 2);

    // Made-up kids do not turn into a flood of fetches (one per cooldown at most).
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(call(gateway, token(claims("mallory"), "made-up-" + std::to_string(i))).status,
                  401);
    EXPECT_EQ(idp->stats()["by_path"]["/.well-known/jwks.json"].get<int>(), fetches);

    // The provider goes away: the keys already fetched stay in use.
    idp.reset();
    EXPECT_EQ(call(gateway, rotated).status, 200);
}

// Issue 20: the same `sub` from two trusted issuers is two accounts. Before, both mapped to
// `jwt:<sub>`: the second issuer's user got the first one's consumer-scoped cached answer and
// shared its request budget.
TEST(JwtThroughGateway, TheSameSubjectFromTwoIssuersIsTwoAccounts) {
    auto model = FakeModel::start("m1");
    TempDir dir;
    const auto jwks = dir.write("jwks.json", jwks_with("k1"));
    const std::string secret = "a-shared-secret-of-at-least-32-bytes!!";
    const std::string other_issuer = "https://other-idp.example.test/";
    auto gateway = RunningGateway::start(
        "tiers: { free: { rate: { requests_per_minute: 3 } } }\n"
        "jwt:\n"
        "  - { issuer: \"" + std::string(issuer) + "\", audiences: [llmgw], jwks_file: " + jwks +
        ", algorithms: [RS256], default_tier: free }\n"
        "  - { issuer: \"" + other_issuer + "\", audiences: [llmgw], secret: \"" + secret +
        "\", algorithms: [HS256], default_tier: free }\n"
        "backends: { b: { endpoints: [ { url: \"" + model.url() + "\" } ] } }\n"
        "routes: [ { name: chat, backend: b, match: { path_prefix: /v1/ }, "
        "cache: { ttl: 10m, scope: consumer } } ]\n");

    auto payload = claims("alice");
    payload.erase("tier");
    const auto first_token = token(payload, "k1");
    payload["iss"] = other_issuer;
    const auto second_token = llmgw::auth::testing::make_hmac_token(
        {{"alg", "HS256"}, {"typ", "JWT"}}, payload, secret);
    const std::string prompt =
        R"({"model":"fake-model","messages":[{"role":"user","content":"my private question"}]})";
    auto ask = [&](const std::string& bearer) {
        return http_request(gateway.port(), {"POST",
                                             "/v1/chat/completions",
                                             {{"authorization", "Bearer " + bearer},
                                              {"content-type", "application/json"}},
                                             prompt});
    };

    const auto first = ask(first_token);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.header("x-cache"), "MISS");
    ASSERT_TRUE(gateway.wait_for_access_lines(1, 5s));
    // The first issuer's user gets its own answer again from the cache...
    EXPECT_EQ(ask(first_token).header("x-cache"), "HIT");
    // ...the other issuer's `alice` never does.
    const auto second = ask(second_token);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.header("x-cache"), "MISS");
    EXPECT_EQ(model.stats()["requests_total"], 2);

    // Separate request budgets: the first account spends its last request, then is refused,
    // while the second still has two.
    EXPECT_EQ(ask(first_token).status, 200);
    EXPECT_EQ(ask(first_token).status, 429);
    EXPECT_EQ(ask(second_token).status, 200);
    EXPECT_EQ(ask(second_token).status, 200);
    EXPECT_EQ(ask(second_token).status, 429);

    // Usage is recorded per (issuer, subject), under the documented account names.
    const auto first_account = llmgw::auth::jwt_account(issuer, "alice");
    const auto second_account = llmgw::auth::jwt_account(other_issuer, "alice");
    EXPECT_NE(first_account, second_account);
    EXPECT_EQ(first_account.substr(0, 4), "jwt:");
    auto usage_of = [&](const std::string& account) {
        std::string encoded;
        for (const char c : account) encoded += c == ':' ? std::string("%3A") : std::string(1, c);
        return http_request(gateway.admin_port(), {"GET", "/admin/usage?consumer=" + encoded + "&" + usage_days_around_today()})
            .json();
    };
    ASSERT_TRUE(gateway.wait_for_access_lines(8, 5s));
    EXPECT_EQ(usage_of(first_account)["total"]["requests"], 3);
    EXPECT_EQ(usage_of(second_account)["total"]["requests"], 3);
    EXPECT_EQ(usage_of("jwt:alice")["total"]["requests"], 0);

    // The access log shows the plain subject and the issuer in its own field.
    const auto line = gateway.access_line_where("status", 429);
    EXPECT_EQ(line["consumer"], "alice");
    EXPECT_TRUE(line["issuer"] == issuer || line["issuer"] == other_issuer) << line.dump();
}
