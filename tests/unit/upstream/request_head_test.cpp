// The hand-written upstream request head is byte for byte what Beast's serializer writes:
// request line, every field in order (repeated and unknown names too), the blank line.
#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <utility>
#include <vector>

#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/upstream_request.hpp"

namespace bhttp = boost::beast::http;
using llmgw::http::Request;

namespace {

// The head as Beast's serializer produces it (split_ stops it after the header).
std::string beast_head(Request& request) {
    bhttp::serializer<true, bhttp::string_body> serializer(request);
    serializer.split(true);
    std::string out;
    boost::system::error_code ec;
    while (!serializer.is_header_done()) {
        serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
            out += boost::beast::buffers_to_string(buffers);
            serializer.consume(boost::beast::buffer_bytes(buffers));
        });
        EXPECT_FALSE(ec);
    }
    return out;
}

std::string written(const Request& request) {
    std::string out = "left over from the last request";
    llmgw::upstream::write_head(request, {}, out);
    return out;
}

TEST(RequestHead, PostWithBodyMatchesBeast) {
    Request request{bhttp::verb::post, "/v1/chat/completions?x=1", 11};
    request.set(bhttp::field::host, "127.0.0.1:8000");
    request.set(bhttp::field::content_type, "application/json");
    request.insert("X-Custom", "a");
    request.insert("x-custom", "b");  // repeated, in order
    request.set("x-forwarded-for", "10.0.0.1");
    request.body() = R"({"model":"m"})";
    request.prepare_payload();
    const auto head = written(request);
    EXPECT_EQ(head, beast_head(request));
    EXPECT_EQ(head.rfind("POST /v1/chat/completions?x=1 HTTP/1.1\r\n", 0), 0u);
    EXPECT_NE(head.find("\r\nContent-Length: 13\r\n"), std::string::npos);
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(RequestHead, UnknownMethodHttp10AndNoFieldsMatchBeast) {
    Request request;
    request.method_string("PURGE");
    request.target("/");
    request.version(10);
    EXPECT_EQ(written(request), "PURGE / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(written(request), beast_head(request));
}

TEST(RequestHead, GetKeepsEmptyValues) {
    Request request{bhttp::verb::get, "/v1/models", 11};
    request.set("x-empty", "");
    request.set(bhttp::field::accept, "*/*");
    EXPECT_EQ(written(request), beast_head(request));
}

TEST(RequestHead, ForwardingLinesReplaceTheClientsOwnAndGoAfterTheFieldsAsBeastWouldWriteThem) {
    Request request{bhttp::verb::post, "/v1/chat/completions", 11};
    request.set(bhttp::field::host, "api.example.com");
    request.insert("X-Forwarded-For", "6.6.6.6");  // a client's claims, in any case
    request.insert("x-forwarded-host", "evil.example");
    request.insert("X-Forwarded-Proto", "https");
    request.insert("X-Request-Id", "client-chosen");
    request.set(bhttp::field::content_type, "application/json");
    request.body() = "{}";
    llmgw::upstream::prepare_length(request);
    const auto lines = llmgw::upstream::forwarding_lines(request, "10.0.0.7", "req-9");
    EXPECT_EQ(lines,
              "x-forwarded-host: api.example.com\r\nx-forwarded-for: 10.0.0.7\r\n"
              "x-forwarded-proto: http\r\nx-request-id: req-9\r\n");
    std::string out;
    llmgw::upstream::write_head(request, lines, out);
    Request whole = request;
    llmgw::upstream::insert_lines(whole, lines);
    EXPECT_EQ(out, beast_head(whole));
    EXPECT_EQ(whole.count("x-forwarded-for"), 1u);
    EXPECT_EQ(whole["x-forwarded-for"], "10.0.0.7");
    EXPECT_EQ(whole["x-request-id"], "req-9");
    EXPECT_EQ(whole[bhttp::field::content_length], "2");
}

TEST(RequestHead, TheLengthIsSetWhenTheClientsDoesNotSayIt) {
    Request request{bhttp::verb::post, "/v1/completions", 11};
    request.set(bhttp::field::content_length, "5");  // the body was rewritten since
    request.body() = R"({"model":"m"})";
    llmgw::upstream::prepare_length(request);
    EXPECT_EQ(request[bhttp::field::content_length], "13");
    request.set(bhttp::field::content_length, "13");
    request.insert(bhttp::field::content_length, "13");  // twice: set again, once
    llmgw::upstream::prepare_length(request);
    EXPECT_EQ(request.count(bhttp::field::content_length), 1u);
}

}  // namespace

// Sent to an endpoint, the head names that endpoint as Host, first, and carries neither the
// client's Host nor a Connection field: otherwise what Beast writes for the same request with
// Host set and keep-alive asked for.
TEST(RequestHead, ToAnEndpointTheHostIsItsAndTheConnectionIsKeptAlive) {
    Request request{bhttp::verb::post, "/v1/chat/completions", 11};
    request.set(bhttp::field::host, "gateway.example");
    request.set(bhttp::field::connection, "close");
    request.set(bhttp::field::content_type, "application/json");
    request.body() = "{}";
    llmgw::upstream::prepare_length(request);
    const std::string lines = "x-request-id: r1\r\n";
    const std::vector<std::pair<llmgw::config::Endpoint, std::string>> cases = {
        {{"http://10.0.0.1:8000", "10.0.0.1", 8000}, "10.0.0.1:8000"},
        {{"http://models.internal", "models.internal", 80}, "models.internal"},
        {{"https://models.internal", "models.internal", 443, 1, true}, "models.internal"},
        {{"https://models.internal:80", "models.internal", 80, 1, true}, "models.internal:80"},
        {{"http://[::1]:9000", "::1", 9000}, "[::1]:9000"},
    };
    for (const auto& [endpoint, host] : cases) {
        std::string out;
        llmgw::upstream::write_head(request, lines, out, &endpoint);
        Request expected{bhttp::verb::post, "/v1/chat/completions", 11};
        expected.set(bhttp::field::host, host);
        for (const auto& field : request)
            if (field.name() != bhttp::field::host && field.name() != bhttp::field::connection)
                expected.insert(field.name_string(), field.value());
        llmgw::upstream::insert_lines(expected, lines);
        expected.keep_alive(true);
        EXPECT_EQ(out, beast_head(expected)) << host;
        EXPECT_EQ(out.find("gateway.example"), std::string::npos);
        EXPECT_EQ(out.find("close"), std::string::npos);
        EXPECT_EQ(llmgw::upstream::host_header(endpoint), host);
    }
}
