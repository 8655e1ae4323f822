// Fuzzes llmgw's simple-request reader against Beast's request parser on the same bytes: what
// find_simple_request accepts, Beast must accept too and read the same way (method, target,
// version, every field in order, Content-Length, the body, and where the request ends: a
// disagreement there would hand a request's bytes to the next one, a smuggled request).
// Declining is always allowed (Beast then reads the request). The first input byte picks the
// header and body limits, so requests at and around the limits are tried.
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "llmgw/http/simple_request.hpp"

namespace bhttp = boost::beast::http;

namespace {

void check(bool condition) {
    if (!condition) __builtin_trap();
}

struct Limits {
    std::size_t header;
    std::uint64_t body;
};

Limits limits_from(std::uint8_t byte) {
    static constexpr std::size_t headers[] = {16 * 1024, 64, 128, 256};
    static constexpr std::uint64_t bodies[] = {1024 * 1024, 0, 8, 64};
    return {headers[byte & 3], bodies[(byte >> 2) & 3]};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto limits = limits_from(data[0]);
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    llmgw::http::SimpleRequest simple;
    if (!llmgw::http::find_simple_request(input, limits.header, limits.body, simple)) return 0;
    check(simple.size <= input.size());
    llmgw::http::Request mine;
    simple.fill(mine);

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header));
    parser.body_limit(limits.body);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (used < input.size() && !parser.is_done()) {
        const auto n = parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
        used += n;
        if (ec || n == 0) break;
    }
    check(!ec && parser.is_done());
    check(used == simple.size);
    const auto& beast = parser.get();
    check(beast.method() == mine.method());
    check(beast.method_string() == mine.method_string());
    check(beast.target() == mine.target());
    check(beast.version() == mine.version());
    check(beast.body() == mine.body());
    const auto length = parser.content_length();
    check(length.has_value() == simple.content_length.has_value());
    check(!length || *length == *simple.content_length);
    auto a = beast.begin();
    auto b = mine.begin();
    for (; a != beast.end() && b != mine.end(); ++a, ++b) {
        check(a->name() == b->name());
        check(a->name_string() == b->name_string());
        check(a->value() == b->value());
    }
    check(a == beast.end() && b == mine.end());
    check(beast.keep_alive() == mine.keep_alive());
    return 0;
}
