// Request heads a proxy must refuse before reading the body.
#include "llmgw/http/request_validation.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>

using llmgw::http::validate_request_head;
namespace bhttp = boost::beast::http;

namespace {
bhttp::request_header<> head(std::vector<std::pair<std::string, std::string>> fields,
                             unsigned version = 11, std::string target = "/v1/chat/completions") {
    bhttp::request_header<> h;
    h.method(bhttp::verb::post);
    h.target(target);
    h.version(version);
    for (const auto& [name, value] : fields) h.insert(name, value);
    return h;
}
}  // namespace

TEST(RequestValidation, AcceptsOrdinaryRequests) {
    EXPECT_FALSE(validate_request_head(head({{"Host", "x"}, {"Content-Length", "2"}})));
    EXPECT_FALSE(validate_request_head(head({{"Host", "x"}, {"Transfer-Encoding", "chunked"}})));
    EXPECT_FALSE(validate_request_head(head({{"Host", "x"}, {"Transfer-Encoding", " Chunked "}})));
    EXPECT_FALSE(validate_request_head(head({}, 10)));  // HTTP/1.0 needs no Host
    EXPECT_FALSE(validate_request_head(head({{"Host", "x"}}, 11, "http://x/v1/models")));
}

TEST(RequestValidation, RefusesTransferEncodingsOtherThanOneChunked) {
    for (const auto* coding :
         {"gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "xchunked", ""})
        EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"Transfer-Encoding", coding}})))
            << coding;
    EXPECT_TRUE(validate_request_head(
        head({{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})));
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"Transfer-Encoding", "chunked"}}, 10)));
}

TEST(RequestValidation, RefusesMissingOrRepeatedHostAndOddTargets) {
    EXPECT_TRUE(validate_request_head(head({})));
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"Host", "y"}})));
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}}, 11, "*")));
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}}, 11, "admin")));
}

TEST(RequestValidation, RefusesLineBreaksAndNulInValues) {
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"X-Folded", "a\r\n b"}})));
    EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"X-Nul", std::string("a\0b", 3)}})));
}

TEST(RequestValidation, AbsoluteFormTargetsBecomeOriginForm) {
    using llmgw::http::origin_form;
    EXPECT_EQ(origin_form("http://gw.example/v1/models?x=1"), "/v1/models?x=1");
    EXPECT_EQ(origin_form("https://gw.example"), "/");
    EXPECT_EQ(origin_form("http://gw.example?x=1"), "/?x=1");
    EXPECT_EQ(origin_form("/v1/models"), "/v1/models");
}

TEST(RequestValidation, AnAbsoluteFormTargetsAuthorityIsCheckedLikeHost) {
    using llmgw::http::target_authority;
    EXPECT_EQ(target_authority("http://gw.example:8080/v1/models"), "gw.example:8080");
    EXPECT_EQ(target_authority("https://[::1]?x=1"), "[::1]");
    EXPECT_EQ(target_authority("http://gw.example"), "gw.example");
    EXPECT_EQ(target_authority("/v1/models"), "");
    for (const auto* target : {"http://user@gw.example/v1/x", "http:///v1/x", "http://a b/v1/x"})
        EXPECT_TRUE(validate_request_head(head({{"Host", "x"}}, 11, target))) << target;
}

TEST(RequestValidation, ContentLengthMustBeOnePlainNumber) {
    EXPECT_FALSE(validate_request_head(head({{"Host", "x"}, {"Content-Length", "0"}})));
    for (const auto* length : {"", "+1", "-1", "0x10", "1,1", "1, 2", "1 2", "1e3"})
        EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"Content-Length", length}})))
            << length;
    EXPECT_TRUE(validate_request_head(
        head({{"Host", "x"}, {"Content-Length", "1"}, {"Content-Length", "1"}})));
    EXPECT_TRUE(validate_request_head(
        head({{"Host", "x"}, {"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}})));
}

TEST(RequestValidation, HostMustBeAHostAndPort) {
    for (const auto* host :
         {"gw", "gw.example:8080", "10.0.0.1", "[::1]:80", "xn--bcher-kva.example"})
        EXPECT_FALSE(validate_request_head(head({{"Host", host}}))) << host;
    for (const auto* host : {"gw other", "user@gw", "gw/admin", "gw?x", "gw#f", "gw\"", "gw\\x"})
        EXPECT_TRUE(validate_request_head(head({{"Host", host}}))) << host;
}

TEST(RequestValidation, MoreThanTheFieldLimitGets431) {
    std::vector<std::pair<std::string, std::string>> fields = {{"Host", "x"}};
    for (std::size_t i = 1; i < llmgw::http::kMaxHeaderFields; ++i)
        fields.emplace_back("x-" + std::to_string(i), "v");
    EXPECT_FALSE(validate_request_head(head(fields)));
    fields.emplace_back("x-one-more", "v");
    const auto refused = validate_request_head(head(fields));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 431);
    EXPECT_EQ(refused->code, "headers_too_large");
    EXPECT_EQ(llmgw::http::field_count(head(fields)), llmgw::http::kMaxHeaderFields + 1);
}
