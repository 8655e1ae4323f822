// Reading a simple client request in one pass (simple_request.hpp says what simple is).
#include "llmgw/http/simple_request.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <algorithm>
#include <cstdint>

#include "llmgw/headers/field_syntax.hpp"
#include "llmgw/headers/header_names.hpp"

namespace llmgw::http {

namespace bhttp = beast::http;
using headers::is_token_char;

namespace {

// A Content-Length of at most 18 digits cannot overflow, and no body llmgw takes is longer.
constexpr std::size_t kMaxLengthDigits = 18;

// The request target, as far as it is taken here: visible ASCII. Beast takes bytes from 0x80
// up too; such a target is left to it.
bool is_target_char(char c) { return c > 0x20 && c < 0x7f; }

// method SP request-target SP HTTP-version CRLF, versions 1.0 and 1.1: the next line's start,
// or nullptr.
const char* read_request_line(const char* p, const char* end, SimpleRequest& out) {
    const char* start = p;
    while (p != end && is_token_char(*p)) ++p;
    if (p == start || p == end || *p != ' ') return nullptr;
    out.method = std::string_view(start, static_cast<std::size_t>(p - start));
    start = ++p;
    while (p != end && is_target_char(*p)) ++p;
    if (p == start || p == end || *p != ' ') return nullptr;
    out.target = std::string_view(start, static_cast<std::size_t>(p - start));
    ++p;
    constexpr std::string_view http11 = "HTTP/1.1\r\n", http10 = "HTTP/1.0\r\n";
    if (static_cast<std::size_t>(end - p) < http11.size()) return nullptr;
    const std::string_view version(p, http11.size());
    if (version == http11) {
        out.version = 11;
    } else if (version == http10) {
        out.version = 10;
    } else {
        return nullptr;
    }
    return p + http11.size();
}

// A list of tokens, elements separated by commas with optional whitespace, empty ones allowed
// (Beast refuses a Connection field that is not one).
bool is_token_list(std::string_view list) {
    for (;;) {
        const auto comma = list.find(',');
        const auto element = headers::trim(list.substr(0, comma));
        for (const char c : element)
            if (!is_token_char(c)) return false;
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

// The fields whose meaning makes a request not simple, or that are read here. False when the
// field makes the request not simple.
bool read_special_field(std::string_view name, std::string_view value, SimpleRequest& out) {
    switch (name.size()) {
        case 6:  // Expect: the 100 Continue is the session's, on Beast's path
            return !headers::equals_lower(name, "expect");
        case 10:
            return !headers::equals_lower(name, "connection") || is_token_list(value);
        case 14: {
            if (!headers::equals_lower(name, "content-length")) return true;
            std::uint64_t length = 0;
            if (out.content_length || value.size() > kMaxLengthDigits ||
                !headers::parse_decimal(value, length))
                return false;
            out.content_length = length;
            return true;
        }
        case 16:
            return !headers::equals_lower(name, "proxy-connection") || is_token_list(value);
        case 17:
            return !headers::equals_lower(name, "transfer-encoding");
        default:
            return true;
    }
}

// The field lines up to the empty line that ends the head: the body's start, or nullptr.
const char* read_fields(const char* p, const char* end, SimpleRequest& out) {
    for (;;) {
        if (end - p < 2) return nullptr;
        if (p[0] == '\r') return p[1] == '\n' ? p + 2 : nullptr;
        if (out.field_count == SimpleRequest::max_fields) return nullptr;
        std::string_view name, value;
        // A folded line (obsolete) starts with a space: not a field line, so not simple.
        p = headers::read_field_line(p, end, name, value);
        if (p == nullptr || !read_special_field(name, value, out)) return nullptr;
        // A line's parts are shorter than the head, whose size is a 32-bit header limit.
        out.fields[out.field_count++] = {name.data(), value.data(),
                                         static_cast<std::uint32_t>(name.size()),
                                         static_cast<std::uint32_t>(value.size())};
    }
}

// The method's verb, the usual ones without Beast's table search.
bhttp::verb verb_of(std::string_view method) {
    if (method == "POST") return bhttp::verb::post;
    if (method == "GET") return bhttp::verb::get;
    return bhttp::string_to_verb(method);
}

}  // namespace

bool find_simple_request(std::string_view in, std::size_t header_limit, std::uint64_t body_limit,
                         SimpleRequest& out) {
    // The head is looked for within the header limit only (Beast's is 32 bits wide, so each
    // field's parts fit SimpleRequest::Field).
    const char* const begin = in.data();
    const char* const head_end =
        begin + std::min({in.size(), header_limit, std::size_t{UINT32_MAX}});
    const char* p = read_request_line(begin, head_end, out);
    if (p != nullptr) p = read_fields(p, head_end, out);
    if (p == nullptr) return false;
    const auto head = static_cast<std::size_t>(p - begin);
    const auto length = out.content_length.value_or(0);
    if (length > body_limit || length > in.size() - head) return false;
    out.body = in.substr(head, static_cast<std::size_t>(length));
    out.size = head + out.body.size();
    return true;
}

void SimpleRequest::fill(Request& request) const {
    // As Beast's parser: a known method by its verb, any other by its text.
    if (const auto verb = verb_of(method); verb != bhttp::verb::unknown)
        request.method(verb);
    else
        request.method_string(method);
    request.target(target);
    request.version(version);
    for (std::size_t i = 0; i < field_count; ++i) {
        const std::string_view name(fields[i].name, fields[i].name_size);
        request.insert(bhttp::string_to_field(name), name,
                       std::string_view(fields[i].value, fields[i].value_size));
    }
    request.body().assign(body);
}

}  // namespace llmgw::http
