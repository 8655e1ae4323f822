// Hostile request framing through the real binary and raw sockets (RFC 9112 §2-7): every
// message two parsers could read differently is refused, the connection is closed, and the
// upstream never sees a byte of it. Also what the gateway accepts and how it forwards it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;
using testing::StartsWith;

namespace {

struct Case {
    std::string name;
    std::string bytes;
    int status = 400;
};

std::string post_head(const std::string& fields, const std::string& version = "HTTP/1.1") {
    return "POST /v1/completions " + version + "\r\nHost: gw\r\n" + fields + "\r\n";
}

std::string get_head(const std::string& target, const std::string& fields) {
    return "GET " + target + " HTTP/1.1\r\n" + fields + "\r\n";
}

std::string chunked(const std::string& body) {
    return post_head("Transfer-Encoding: chunked\r\n") + body;
}

struct FramingTest : ::testing::Test {
    void SetUp() override {
        model = std::make_unique<FakeModel>(FakeModel::start("m1"));
        GatewayOptions options;
        options.server_extra =
            "  max_header_bytes: 4KiB\n  max_body_bytes: 64KiB\n  header_timeout: 1s\n"
            "  body_timeout: 500ms\n";
        gateway = std::make_unique<RunningGateway>(
            RunningGateway::start("backends:\n  vllm: { endpoints: [ { url: \"" + model->url() +
                                      "\" } ] }\nroutes:\n  - { name: all, backend: vllm }\n",
                                  options));
    }

    // Sends each case on its own connection: the status, the close and an upstream that saw
    // nothing are checked one case at a time, so a failure names its case.
    void expect_refused(const std::vector<Case>& cases) {
        for (const auto& c : cases) {
            RawConnection raw(gateway->port());
            raw.send(c.bytes);  // the server may close before it has read everything
            const auto reply = raw.read_until_close(3s);
            EXPECT_THAT(reply, StartsWith("HTTP/1.1 " + std::to_string(c.status) + " ")) << c.name;
            EXPECT_THAT(reply, HasSubstr("\"error\":{")) << c.name;
            EXPECT_TRUE(raw.closed_by_peer(1s)) << c.name << ": the connection stayed open";
            EXPECT_EQ(model->stats()["requests_total"], 0) << c.name << " reached the upstream";
        }
    }

    // One request that must be forwarded: the fake server's echo of what reached it.
    // `bytes` must ask for "Connection: close", so that the answer ends with the connection.
    nlohmann::json forwarded(const std::string& bytes) {
        RawConnection raw(gateway->port());
        EXPECT_TRUE(raw.send(bytes));
        const auto reply = parse_response(raw.read_until_close(3s));
        EXPECT_EQ(reply.status, 200) << reply.body;
        return reply.status == 200 ? reply.json() : nlohmann::json{};
    }

    std::unique_ptr<FakeModel> model;
    std::unique_ptr<RunningGateway> gateway;
};

}  // namespace

TEST_F(FramingTest, TransferEncodingOtherThanOneChunkedIsRefused) {
    expect_refused({
        {"CL then TE",
         post_head("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n"},
        {"TE then CL",
         post_head("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n") + "0\r\n\r\n"},
        {"gzip", post_head("Transfer-Encoding: gzip\r\n")},
        {"chunked, gzip", post_head("Transfer-Encoding: chunked, gzip\r\n") + "0\r\n\r\n"},
        {"gzip, chunked", post_head("Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n"},
        {"chunked, chunked", post_head("Transfer-Encoding: chunked, chunked\r\n") + "0\r\n\r\n"},
        {"two TE lines",
         post_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n"},
        {"TE lines gzip then chunked",
         post_head("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n"},
        {"xchunked", post_head("Transfer-Encoding: xchunked\r\n")},
        {"empty TE", post_head("Transfer-Encoding: \r\n")},
        {"TE name with a space before the colon",
         post_head("Transfer-Encoding : chunked\r\n") + "0\r\n\r\n"},
        {"TE line starting with a space (a fold with nothing to fold onto)",
         "POST /v1/completions HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: "
         "gw\r\n\r\n0\r\n\r\n"},
        {"HTTP/1.0 with chunked",
         post_head("Transfer-Encoding: chunked\r\n", "HTTP/1.0") + "0\r\n\r\n"},
    });
}

TEST_F(FramingTest, ContentLengthOtherThanOneDecimalNumberIsRefused) {
    expect_refused({
        {"+1", post_head("Content-Length: +1\r\n") + "a"},
        {"-1", post_head("Content-Length: -1\r\n") + "a"},
        {"0x10", post_head("Content-Length: 0x10\r\n") + std::string(16, 'a')},
        {"empty", post_head("Content-Length: \r\n") + "a"},
        {"list 1,2", post_head("Content-Length: 1,2\r\n") + "ab"},
        {"list 1, 1", post_head("Content-Length: 1, 1\r\n") + "a"},
        {"differing lines", post_head("Content-Length: 1\r\nContent-Length: 2\r\n") + "ab"},
        {"equal lines", post_head("Content-Length: 1\r\nContent-Length: 1\r\n") + "a"},
        {"1e3", post_head("Content-Length: 1e3\r\n") + "a"},
        {"beyond 64 bits", post_head("Content-Length: 99999999999999999999999\r\n") + "a"},
    });
}

TEST_F(FramingTest, InvalidChunksAreRefused) {
    expect_refused({
        {"size not hex", chunked("zz\r\nhello\r\n0\r\n\r\n")},
        {"size with 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n")},
        {"negative size", chunked("-5\r\nhello\r\n0\r\n\r\n")},
        {"size with a leading space", chunked(" 5\r\nhello\r\n0\r\n\r\n")},
        {"size beyond 64 bits", chunked("1ffffffffffffffff\r\nhello\r\n0\r\n\r\n")},
        {"data longer than its size", chunked("3\r\nhello\r\n0\r\n\r\n")},
        {"data not ended by CRLF", chunked("5\r\nhelloXY0\r\n\r\n")},
        {"bare LF after the size", chunked("5\nhello\r\n0\r\n\r\n")},
        // Only bare LFs: the size line has not ended for the parser, so it waits for more.
        {"bare LF line ends only", chunked("5\nhello\n0\n\n"), 408},
        {"bare CR after the size", chunked("5\rhello\r\n0\r\n\r\n")},
        {"garbage after the size", chunked("5 x\r\nhello\r\n0\r\n\r\n")},
        {"extension longer than 4 KiB",
         chunked("5;name=" + std::string(5000, 'a') + "\r\nhello\r\n0\r\n\r\n")},
        {"extension on the last chunk longer than 4 KiB",
         chunked("5\r\nhello\r\n0;name=" + std::string(5000, 'a') + "\r\n\r\n")},
        // No end of line for as long as the read buffer holds: refused, not buffered forever.
        {"size line that never ends", chunked("5;name=" + std::string(200 * 1024, 'a'))},
        {"trailer fields", chunked("5\r\nhello\r\n0\r\nHost: other\r\n\r\n")},
        {"trailer that never ends",
         chunked("5\r\nhello\r\n0\r\nx-t: " + std::string(200 * 1024, 'a'))},
        {"last chunk never comes", chunked("5\r\nhello\r\n"), 408},
    });
}

TEST_F(FramingTest, MalformedFieldsAndTargetsAreRefused) {
    expect_refused({
        {"whitespace before the colon", get_head("/v1/models", "Host : gw\r\n")},
        {"line without a colon", get_head("/v1/models", "Host: gw\r\nNoColonHere\r\n")},
        {"empty field name", get_head("/v1/models", "Host: gw\r\n: value\r\n")},
        {"CR inside a value", get_head("/v1/models", "Host: gw\r\nX: a\rb\r\n")},
        {"NUL inside a value", get_head("/v1/models", std::string("Host: gw\r\nX: a\0b\r\n", 18))},
        {"control character inside a value", get_head("/v1/models",
                                                      "Host: gw\r\nX: a\x0b"
                                                      "b\r\n")},
        {"missing Host", get_head("/v1/models", "")},
        {"two Host lines", get_head("/v1/models", "Host: gw\r\nHost: other\r\n")},
        {"Host with userinfo", get_head("/v1/models", "Host: user@gw\r\n")},
        {"Host with a path", get_head("/v1/models", "Host: gw/admin\r\n")},
        {"Host folded onto two lines", get_head("/v1/models", "Host: gw\r\n other\r\n")},
        {"target *", get_head("*", "Host: gw\r\n")},
        {"target admin", get_head("admin", "Host: gw\r\n")},
        {"target in authority-form", get_head("gw:443", "Host: gw\r\n")},
        {"bare LF after the request line", "GET /v1/models HTTP/1.1\nHost: gw\r\n\r\n"},
        {"not HTTP", "THIS IS NOT HTTP\r\n\r\n"},
    });
}

TEST_F(FramingTest, HeadersOverTheSizeOrCountLimitGet431) {
    std::string many_small;
    for (int i = 0; i < 100; ++i) many_small += "x-h-" + std::to_string(i) + ": v\r\n";
    std::string few_large;
    for (int i = 0; i < 10; ++i)
        few_large += "x-big-" + std::to_string(i) + ": " + std::string(500, 'b') + "\r\n";
    expect_refused({
        {"101 fields", get_head("/v1/models", "Host: gw\r\n" + many_small), 431},
        {"5 KiB of fields", get_head("/v1/models", "Host: gw\r\n" + few_large), 431},
        {"one 5 KiB value",
         get_head("/v1/models", "Host: gw\r\nx: " + std::string(5000, 'v') + "\r\n"), 431},
    });
}

TEST_F(FramingTest, OneHundredFieldsArePassed) {
    std::string fields = "Host: gw\r\nConnection: close\r\n";
    fields += "x-fake-echo: 1\r\n";
    for (int i = 0; i < 97; ++i) fields += "x-h-" + std::to_string(i) + ": v\r\n";
    const auto echo = forwarded(get_head("/v1/models", fields));
    EXPECT_EQ(echo["headers"]["x-h-96"], "v");
}

TEST_F(FramingTest, ObsFoldIsReplacedByOneSpace) {
    // RFC 9112 §5.2 allows either refusing or replacing with spaces; the value goes upstream
    // on one line, so the fold cannot be read as a field of its own there.
    const auto echo =
        forwarded(get_head("/v1/models",
                           "Host: gw\r\nConnection: close\r\nx-fake-echo: 1\r\nx-folded: a\r\n "
                           "b\r\n\tTransfer-Encoding: chunked\r\n"));
    EXPECT_EQ(echo["headers"]["x-folded"], "a b Transfer-Encoding: chunked");
    EXPECT_FALSE(echo["headers"].contains("transfer-encoding"));
}

TEST_F(FramingTest, ChunkedBodiesAreForwardedWithTheirLength) {
    // Optional whitespace around the coding and short chunk extensions are valid HTTP.
    const auto echo = forwarded(
        post_head("Connection: close\r\nx-fake-echo: 1\r\nTransfer-Encoding: \t chunked \r\n") +
        "5;name=value\r\nhello\r\n6 ; quoted=\"a b\"\r\n world\r\n0\r\n\r\n");
    EXPECT_EQ(echo["body"], "hello world");
    EXPECT_EQ(echo["headers"]["content-length"], "11");
    EXPECT_FALSE(echo["headers"].contains("transfer-encoding"));
}

TEST_F(FramingTest, AbsoluteFormTargetsAreForwardedAsOriginForm) {
    const auto echo = forwarded(
        get_head("http://gw/v1/models?x=1", "Host: gw\r\nConnection: close\r\nx-fake-echo: 1\r\n"));
    EXPECT_EQ(echo["target"], "/v1/models?x=1");
}
