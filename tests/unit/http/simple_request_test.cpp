// The simple-request reader: what it takes it reads as Beast's parser does (the fuzz target
// simple_request holds it to that on any bytes); what makes a request not simple, or not whole
// yet, it leaves to Beast.
#include "llmgw/http/simple_request.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <string>
#include <vector>

using llmgw::http::find_simple_request;
using llmgw::http::Request;
using llmgw::http::SimpleRequest;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kHeaderLimit = 8192;
constexpr std::uint64_t kBodyLimit = 1 << 20;

bool simple(std::string_view in, SimpleRequest& out, std::size_t header_limit = kHeaderLimit,
            std::uint64_t body_limit = kBodyLimit) {
    return find_simple_request(in, header_limit, body_limit, out);
}

bool simple(std::string_view in, std::size_t header_limit = kHeaderLimit,
            std::uint64_t body_limit = kBodyLimit) {
    SimpleRequest out;
    return simple(in, out, header_limit, body_limit);
}

// Beast's reading of the first request in `in`, and how many bytes it took.
std::pair<Request, std::size_t> beast_reads(std::string_view in) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done() && used < in.size()) {
        used += parser.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
        EXPECT_FALSE(ec) << ec.message();
        if (ec) break;
    }
    EXPECT_TRUE(parser.is_done());
    return {parser.release(), used};
}

std::vector<std::string> lines(const Request& request) {
    std::vector<std::string> out;
    for (const auto& field : request)
        out.push_back(std::string(field.name_string()) + "=" + std::string(field.value()) + "/" +
                      std::to_string(static_cast<int>(field.name())));
    return out;
}

}  // namespace

TEST(SimpleRequest, AChatRequestIsReadAsBeastReadsIt) {
    const std::string in =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: wrk\r\n"
        "Content-Type: application/json\r\nAuthorization:  Bearer k \r\nX-Custom: a, b\r\n"
        "Content-Length: 16\r\nConnection: keep-alive\r\n\r\n{\"model\":\"fake\"}";
    SimpleRequest found;
    ASSERT_TRUE(simple(in, found));
    Request mine;
    found.fill(mine);
    const auto [beast, used] = beast_reads(in);
    EXPECT_EQ(found.size, used);
    EXPECT_EQ(mine.method(), bhttp::verb::post);
    EXPECT_EQ(mine.target(), beast.target());
    EXPECT_EQ(mine.version(), 11u);
    EXPECT_EQ(lines(mine), lines(beast));
    EXPECT_EQ(mine.body(), "{\"model\":\"fake\"}");
    EXPECT_EQ(found.content_length, 16u);
    EXPECT_EQ(mine.keep_alive(), beast.keep_alive());
}

TEST(SimpleRequest, AnUnknownMethodAndHttp10AreKeptAsBeastKeepsThem) {
    const std::string in = "BREW /pot HTTP/1.0\r\nAccept: */*\r\n\r\n";
    SimpleRequest found;
    ASSERT_TRUE(simple(in, found));
    Request mine;
    found.fill(mine);
    const auto [beast, used] = beast_reads(in);
    EXPECT_EQ(mine.method(), bhttp::verb::unknown);
    EXPECT_EQ(mine.method_string(), beast.method_string());
    EXPECT_EQ(mine.version(), 10u);
    EXPECT_EQ(found.size, used);
    EXPECT_FALSE(found.content_length);
    EXPECT_TRUE(mine.body().empty());
}

TEST(SimpleRequest, APipelinedNextRequestIsNotTaken) {
    const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    const auto in = first + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";  // found's views are into it
    SimpleRequest found;
    ASSERT_TRUE(simple(in, found));
    EXPECT_EQ(found.size, first.size());
    EXPECT_EQ(found.body, "abc");
}

TEST(SimpleRequest, ARequestNotWholeYetIsLeftToBeast) {
    const std::string in = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc";
    EXPECT_FALSE(simple(in));                              // the body is not all there
    EXPECT_FALSE(simple("POST /a HTTP/1.1\r\nHost: h\r\n"));  // nor the head
    EXPECT_FALSE(simple(""));
}

TEST(SimpleRequest, FramingOtherThanOneContentLengthIsLeftToBeast) {
    const std::string head = "POST /a HTTP/1.1\r\nHost: h\r\n";
    EXPECT_FALSE(simple(head + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    EXPECT_FALSE(simple(head + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na"));
    EXPECT_FALSE(simple(head + "Content-Length: 1, 1\r\n\r\na"));
    EXPECT_FALSE(simple(head + "Content-Length: +1\r\n\r\na"));
    EXPECT_FALSE(simple(head + "Content-Length: 1234567890123456789\r\n\r\n"));
    EXPECT_TRUE(simple(head + "content-length: 1\r\n\r\na"));  // names in any case
}

TEST(SimpleRequest, WhatBeastWouldReadDifferentlyOrRefuseIsLeftToIt) {
    EXPECT_FALSE(simple("GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n"));      // obsolete folding
    EXPECT_FALSE(simple("GET /a HTTP/1.1\r\nConnection: a b\r\n\r\n"));  // not a token list
    EXPECT_FALSE(simple("GET /a HTTP/2.0\r\n\r\n"));
    EXPECT_FALSE(simple("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"));  // a target beyond ASCII
    EXPECT_FALSE(simple("GET /a HTTP/1.1\r\nX y: 1\r\n\r\n"));
    EXPECT_FALSE(simple("GET /a HTTP/1.1\r\nX: 1\r\r\n\r\n"));
    EXPECT_FALSE(simple("GET /a HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));  // the session's
    EXPECT_TRUE(simple("GET /a HTTP/1.1\r\nConnection: close, , upgrade\r\n\r\n"));
}

TEST(SimpleRequest, LimitsAreLeftToBeastToEnforce) {
    const std::string in = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    const auto head = in.size() - 3;
    EXPECT_TRUE(simple(in, head, 3));
    EXPECT_FALSE(simple(in, head - 1, 3));
    EXPECT_FALSE(simple(in, head, 2));
    std::string many = "GET / HTTP/1.1\r\n";
    for (std::size_t i = 0; i <= SimpleRequest::max_fields; ++i) many += "X: 1\r\n";
    EXPECT_FALSE(simple(many + "\r\n"));
}
