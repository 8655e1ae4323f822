// Fuzzes llmgw's upstream answer parser against Beast's response parser, on the same bytes
// arriving in the same pieces (the first input byte picks the piece size). Where both read an
// answer they must agree on all of it: status, version, the end-to-end fields, keep-alive, the
// body and where it ends (a disagreement on a pooled connection hands bytes of one answer to
// the next request). llmgw may refuse what Beast takes only where it is stricter by design:
// Transfer-Encoding with anything odd about it, and obsolete line folding.
#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/headers/header_names.hpp"
#include "llmgw/http/hop_by_hop.hpp"
#include "llmgw/http/response_phases.hpp"
#include "llmgw/upstream/answer_parser.hpp"
#include "support/beast_answer.hpp"

namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::size_t head_limit = 1 << 20;

void check(bool condition);

struct Result {
    bool head = false;  // the head was read
    bool done = false;
    bool failed = false;  // a parse error
    unsigned status = 0, version = 0;
    bool keep_alive = false;
    std::vector<std::string> fields;  // "name: value", names lower case
    std::string body;
};

Result mine(std::string_view input, std::size_t step, bool eof) {
    llmgw::upstream::AnswerParser parser(head_limit);
    Result out;
    std::string buffer, piece(input.size() + 1, '\0');
    error_code ec;
    for (std::size_t at = 0; at < input.size() && !parser.done(); at += step) {
        buffer.append(input.substr(at, step));
        if (!parser.head_done()) {
            buffer.erase(0, parser.put_head(buffer, ec));
            if (ec == bhttp::error::need_more) continue;
            if (ec) return out.failed = true, out;
        }
        const auto progress = parser.put_body(buffer, piece.data(), piece.size(), ec);
        out.body.append(piece, 0, progress.written);
        buffer.erase(0, progress.used);
        if (ec && ec != bhttp::error::need_more) {
            out.failed = out.head = true;
            return out;
        }
    }
    if (!parser.head_done()) return out;
    if (eof && !parser.done()) parser.put_eof(ec);
    out.head = true;
    out.done = parser.done();
    out.status = parser.status();
    out.version = parser.head().version();
    out.keep_alive = parser.keep_alive();
    llmgw::http::for_each_field_line(parser.lines(), [&](std::string_view name, std::string_view value) {
        out.fields.push_back(llmgw::headers::to_lower(name) + ": " + std::string(value));
    });
    check(parser.head().begin() == parser.head().end());  // the fields are lines
    return out;
}

Result beast(std::string_view input, std::size_t step, bool eof) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(head_limit);
    // Beast's string body reserves what Content-Length says: a limit keeps it from asking for
    // exabytes. No input is this long, so no answer that both could read is refused for it.
    parser.body_limit(head_limit);
    Result out;
    std::string buffer;
    error_code ec;
    // The fields are taken once the head is read: Beast adds trailer fields to them later.
    const auto take_head = [&] {
        if (out.head || !parser.is_header_done()) return;
        out.head = true;
        auto& message = parser.get();
        out.status = message.result_int();
        out.version = message.version();
        for (auto& [name, value] : llmgw::testing::end_to_end_fields(message.base()))
            out.fields.push_back(name + ": " + value);
        parser.eager(true);
    };
    for (std::size_t at = 0; at < input.size() && !parser.is_done(); at += step) {
        buffer.append(input.substr(at, step));
        while (!buffer.empty() && !parser.is_done()) {
            const auto used = parser.put(boost::asio::buffer(buffer), ec);
            buffer.erase(0, used);
            take_head();
            if (ec == bhttp::error::need_more) break;
            if (ec) return out.failed = true, out;
        }
    }
    if (!out.head) return out;
    if (eof && !parser.is_done()) parser.put_eof(ec);
    out.done = parser.is_done();
    out.keep_alive = parser.keep_alive();
    out.body = parser.get().body();
    return out;
}

// Fields of one name together, as Beast keeps them; llmgw keeps the order they came in.
std::vector<std::string> grouped(std::vector<std::string> fields) {
    std::stable_sort(fields.begin(), fields.end(), [](const std::string& a, const std::string& b) {
        return a.substr(0, a.find(':')) < b.substr(0, b.find(':'));
    });
    return fields;
}

bool contains_lower(std::string_view input, std::string_view lower) {
    return llmgw::headers::to_lower(input).find(lower) != std::string::npos;
}

void check(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t step = 1 + data[0] % 64;
    const bool eof = data[0] & 0x80;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto a = mine(input, step, eof);
    const auto b = beast(input, step, eof);
    const bool stricter = contains_lower(input, "transfer-encoding") ||
                          input.find("\r\n ") != std::string_view::npos ||
                          input.find("\r\n\t") != std::string_view::npos;
    // A parser still waiting for bytes has given no verdict: it may fail later (at a limit or
    // the close), never end elsewhere than the other's end.
    if (b.failed) check(!a.done && (b.head || !a.head));
    if (a.failed && (b.done || (!a.head && b.head))) check(stricter);
    if (a.failed || b.failed) return 0;
    check(a.done == b.done || (!a.head || !b.head));
    if (a.head && b.head)
        check(a.status == b.status && a.version == b.version && grouped(a.fields) == grouped(b.fields));
    if (a.done && b.done) check(a.body == b.body && a.keep_alive == b.keep_alive);
    return 0;
}
