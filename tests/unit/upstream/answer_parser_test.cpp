// The upstream answer parser reads what Beast's response parser read (status, version,
// end-to-end fields in order, body, keep-alive), however the bytes arrive, and refuses what
// it must: framing it cannot be sure of, malformed heads and chunks.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <utility>
#include <vector>

#include "llmgw/headers/header_names.hpp"
#include "llmgw/http/hop_by_hop.hpp"
#include "llmgw/http/response_phases.hpp"
#include "llmgw/upstream/answer_parser.hpp"
#include "support/beast_answer.hpp"

namespace bhttp = boost::beast::http;
using boost::system::error_code;
using llmgw::upstream::AnswerParser;

namespace {

struct Parsed {
    error_code ec;  // the first error; need_more when the input ended first
    unsigned status = 0;
    unsigned version = 0;
    std::vector<std::pair<std::string, std::string>> fields;  // lower-case names
    std::string body;
    bool done = false;
    bool keep_alive = false;
};

// Names in lower case, fields of one name together (as Beast keeps them), in their order.
using Fields = std::vector<std::pair<std::string, std::string>>;
Fields grouped(Fields fields) {
    std::stable_sort(fields.begin(), fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return fields;
}

Fields fields_of(std::string_view lines) {
    Fields out;
    llmgw::http::for_each_field_line(lines, [&](std::string_view name, std::string_view value) {
        out.emplace_back(llmgw::headers::to_lower(name), std::string(value));
    });
    return out;
}

// `input` arrives `step` bytes at a time; `eof`: then the connection closes.
Parsed parse(const std::string& input, std::size_t step, bool eof = false, bool head_request = false) {
    AnswerParser parser;
    if (head_request) parser.skip_body();
    Parsed out;
    std::string buffer;
    std::string piece(input.size() + 1, '\0');
    for (std::size_t at = 0; at < input.size() && !parser.done(); at += step) {
        buffer += input.substr(at, step);
        if (!parser.head_done()) {
            buffer.erase(0, parser.put_head(buffer, out.ec));
            if (out.ec == bhttp::error::need_more) continue;
            if (out.ec) return out;
        }
        const auto progress = parser.put_body(buffer, piece.data(), piece.size(), out.ec);
        out.body.append(piece, 0, progress.written);
        buffer.erase(0, progress.used);
        if (out.ec && out.ec != bhttp::error::need_more) return out;
    }
    if (eof && !parser.done() && parser.head_done()) parser.put_eof(out.ec);
    if (parser.head_done()) {
        out.status = parser.status();
        out.version = parser.head().version();
        EXPECT_EQ(parser.head().begin(), parser.head().end());  // the fields are lines
        out.fields = fields_of(parser.lines());
        out.keep_alive = parser.keep_alive();
    }
    out.done = parser.done();
    if (out.done && out.ec == bhttp::error::need_more) out.ec = {};
    return out;
}

// The same through Beast's parser, with the forwarder's old filter of the hop-by-hop fields
// (the fixed set, Content-Length, and what Connection names).
Parsed parse_with_beast(const std::string& input, bool eof = false, bool head_request = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    if (head_request) parser.skip(true);
    Parsed out;
    // The head first (Beast adds trailer fields to the same fields later), then the rest.
    const auto used = parser.put(boost::asio::buffer(input), out.ec);
    if (out.ec && out.ec != bhttp::error::need_more) return out;
    if (!parser.is_header_done()) return out;
    auto& message = parser.get();
    out.status = message.result_int();
    out.version = message.version();
    out.fields = llmgw::testing::end_to_end_fields(message.base());
    parser.eager(true);
    if (!parser.is_done()) parser.put(boost::asio::buffer(input.substr(used)), out.ec);
    if (out.ec && out.ec != bhttp::error::need_more) return out;
    if (eof && !parser.is_done()) parser.put_eof(out.ec);
    if (out.ec == bhttp::error::need_more && parser.is_done()) out.ec = {};
    out.keep_alive = parser.keep_alive();
    out.body = message.body();
    out.done = parser.is_done();
    return out;
}

void expect_same(const Parsed& mine, const Parsed& beast, const std::string& what) {
    EXPECT_EQ(mine.ec, beast.ec) << what << ": " << mine.ec.message() << " / " << beast.ec.message();
    EXPECT_EQ(mine.status, beast.status) << what;
    EXPECT_EQ(mine.version, beast.version) << what;
    EXPECT_EQ(grouped(mine.fields), grouped(beast.fields)) << what;
    EXPECT_EQ(mine.body, beast.body) << what;
    EXPECT_EQ(mine.done, beast.done) << what;
    EXPECT_EQ(mine.keep_alive, beast.keep_alive) << what;
}

// Every answer, split at every step from one byte to all of it, reads as Beast reads it.
void expect_as_beast(const std::string& input, bool eof = false, bool head_request = false) {
    const auto beast = parse_with_beast(input, eof, head_request);
    ASSERT_FALSE(beast.ec) << input << ": " << beast.ec.message();
    for (std::size_t step = 1; step <= input.size(); ++step)
        expect_same(parse(input, step, eof, head_request), beast, input + " in steps of " + std::to_string(step));
}

}  // namespace

TEST(AnswerParser, ReadsAnswersAsBeastDoesHoweverTheBytesArrive) {
    expect_as_beast("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                    "x-fake-server: a\r\n\r\n{\"ok\":true}");
    expect_as_beast("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                    "Cache-Control: no-cache\r\n\r\n"
                    "6\r\ndata: \r\n1A;name=value;quoted=\"a \\\" b\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                    "0\r\nx-trailer: t\r\n\r\n");
    // Repeated and unknown fields keep their order; values lose their outer spaces only.
    expect_as_beast("HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nX-Odd:   spaced  value \t\r\n"
                    "Set-Cookie: b=2\r\nContent-Length: 0\r\n\r\n");
    // Until the close; HTTP/1.0 with and without keep-alive; a list of the same length.
    expect_as_beast("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true);
    expect_as_beast("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
    expect_as_beast("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    expect_as_beast("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc");
    // No body whatever the head says: HEAD, 204, 304, 1xx.
    expect_as_beast("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", false, true);
    expect_as_beast("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
    expect_as_beast("HTTP/1.1 304 Not Modified\r\n\r\n");
    expect_as_beast("HTTP/1.1 100 Continue\r\n\r\n");
    // An empty reason phrase.
    expect_as_beast("HTTP/1.1 503 \r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n");
}

TEST(AnswerParser, KeepsOnlyTheEndToEndFields) {
    const auto parsed = parse("HTTP/1.1 200 OK\r\nConnection: x-hop, close\r\nKeep-Alive: timeout=5\r\n"
                              "X-Hop: gone\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
                              "Trailer: x-t\r\nTE: trailers\r\nContent-Type: text/plain\r\n"
                              "Transfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n0\r\n\r\n",
                              1000);
    ASSERT_FALSE(parsed.ec) << parsed.ec.message();
    const std::vector<std::pair<std::string, std::string>> kept = {{"content-type", "text/plain"},
                                                                   {"x-kept", "yes"}};
    EXPECT_EQ(parsed.fields, kept);
    EXPECT_TRUE(parsed.done);
    EXPECT_FALSE(parsed.keep_alive);  // Connection: close
}

TEST(AnswerParser, RefusesFramingItCannotBeSureOf) {
    const std::vector<std::pair<std::string, error_code>> cases = {
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", bhttp::error::bad_content_length},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", bhttp::error::bad_transfer_encoding},
        // Stricter than Beast, which takes the length after a coding that is not chunked.
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", bhttp::error::bad_content_length},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", bhttp::error::bad_transfer_encoding},
        // Beast reads "chunked" out of these; a coding must be a token here.
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", bhttp::error::bad_transfer_encoding},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\xff\r\n\r\n", bhttp::error::bad_transfer_encoding},
        {"HTTP/1.1 200 OK\r\nConnection: keep=alive\r\nContent-Length: 0\r\n\r\n", bhttp::error::bad_value},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", bhttp::error::bad_transfer_encoding},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", bhttp::error::multiple_content_length},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", bhttp::error::bad_content_length},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", bhttp::error::bad_content_length},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3,\r\n\r\n", bhttp::error::bad_content_length},
        {"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", bhttp::error::bad_content_length},
    };
    for (const auto& [input, expected] : cases) {
        const auto parsed = parse(input, input.size());
        EXPECT_EQ(parsed.ec, expected) << input << ": " << parsed.ec.message();
    }
}

TEST(AnswerParser, RefusesMalformedHeadsAndChunks) {
    static constexpr char with_nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
    const std::vector<std::string> heads = {
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : value\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: value\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n",       // a bare LF inside
        std::string(with_nul, sizeof with_nul - 1),
        "HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n",
    };
    for (const auto& head : heads) {
        const auto parsed = parse(head, head.size());
        EXPECT_TRUE(parsed.ec && parsed.ec != bhttp::error::need_more) << head;
        EXPECT_TRUE(parse_with_beast(head).ec) << "Beast takes it: " << head;
    }
    // Stricter than Beast, which joins a folded line to the one before.
    const std::string folded = "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(parse(folded, folded.size()).ec, bhttp::error::bad_field);
    const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::vector<std::string> bodies = {
        "zz\r\nab\r\n0\r\n\r\n",   // no size
        "2\r\nabX\r\n0\r\n\r\n",   // no CRLF after the data
        "2\r\nabXY1\r\nc\r\n0\r\n\r\n",  // two bytes that are not CRLF after the data
        "2 \r\nab\r\n0\r\n\r\n",   // a space and no extension
        "2;\r\nab\r\n0\r\n\r\n",   // an extension without a name
        "2;a=\"x\r\nab\r\n0\r\n\r\n",  // an unterminated quoted value
        "10000000000000000\r\n",   // more than 64 bits
        "0\r\nContent-Length: 1\r\n\r\n",  // a trailer that frames
    };
    for (const auto& body : bodies) {
        const auto parsed = parse(chunked + body, 7);
        EXPECT_TRUE(parsed.ec && parsed.ec != bhttp::error::need_more) << body << ": " << parsed.ec.message();
        EXPECT_FALSE(parsed.done) << body;
    }
}

TEST(AnswerParser, AConnectionCloseInTheTrailerKeepsTheConnectionOutOfThePool) {
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n";
    const auto plain = parse(head + "\r\n", 5);
    EXPECT_TRUE(plain.done);
    EXPECT_TRUE(plain.keep_alive);
    const auto closing = parse(head + "Connection: close\r\n\r\n", 5);
    EXPECT_TRUE(closing.done);
    EXPECT_EQ(closing.body, "ok");
    EXPECT_FALSE(closing.keep_alive);
    expect_as_beast(head + "Connection: close\r\n\r\n");
}

TEST(AnswerParser, AnAnswerCutShortIsPartial) {
    const auto cut = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 4, true);
    EXPECT_EQ(cut.ec, bhttp::error::partial_message);
    EXPECT_EQ(cut.body, "abc");
    EXPECT_FALSE(cut.done);
    const auto cut_chunk = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 4, true);
    EXPECT_EQ(cut_chunk.ec, bhttp::error::partial_message);
    EXPECT_EQ(cut_chunk.body, "ab");
}

TEST(AnswerParser, AHeadPastItsLimitIsRefused) {
    AnswerParser parser(64);
    error_code ec;
    const std::string head = "HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n";
    EXPECT_EQ(parser.put_head(head.substr(0, 70), ec), 0u);
    EXPECT_EQ(ec, bhttp::error::header_limit);
    AnswerParser whole(64);
    EXPECT_EQ(whole.put_head(head, ec), 0u);
    EXPECT_EQ(ec, bhttp::error::header_limit);
}
