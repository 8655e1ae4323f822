// Request heads a proxy must refuse before reading the body.
#include "llmgw/http/request_validation.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>

using llmgw::http::validate_request_head;
namespace bhttp = boost::beast::http;

namespace {
bhttp::request_header<> head(std::vector<std::pair<std::string, std::string>> fields, unsigned version = 11,
                             std::string target = "/v1/chat/completions") {
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
    for (const auto* coding : {"gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "xchunked", ""})
        EXPECT_TRUE(validate_request_head(head({{"Host", "x"}, {"Transfer-Encoding", coding}}))) << coding;
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
