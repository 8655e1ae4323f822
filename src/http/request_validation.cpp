// Framing and field checks on a request head, before its body is read.
#include "llmgw/http/request_validation.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http/field.hpp>
#include <iterator>
#include <vector>

#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::http {

namespace bhttp = beast::http;

namespace {

GatewayError refuse(std::string message) {
    return make_error(ErrorCode::malformed_request, std::move(message));
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// uri-host [ ":" port ] (RFC 9110 §7.2): reg-name, IPv4 or an IP literal in brackets. Only
// the characters are checked: anything else (spaces from an obs-fold, "@", "/") would let
// the gateway and the upstream disagree on which host was asked for.
// A table of the allowed bytes: a search of the allowed string for each byte cost a memchr
// call per character of every request's Host.
constexpr std::array<bool, 256> host_bytes() {
    constexpr std::string_view allowed =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]";
    std::array<bool, 256> table{};
    for (const char c : allowed) table[static_cast<unsigned char>(c)] = true;
    return table;
}

bool is_valid_host(std::string_view host) {
    static constexpr auto allowed = host_bytes();
    return std::all_of(host.begin(), host.end(),
                       [](char c) { return allowed[static_cast<unsigned char>(c)]; });
}

// CR, LF or NUL anywhere in a header value.
bool has_line_break_or_nul(std::string_view value) {
    for (const char c : value)
        if (static_cast<unsigned char>(c) <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
            return true;
    return false;
}

}  // namespace

std::size_t field_count(const bhttp::request_header<>& head) {
    return static_cast<std::size_t>(std::distance(head.begin(), head.end()));
}

std::optional<GatewayError> validate_request_head(const bhttp::request_header<>& head) {
    int hosts = 0;
    int content_lengths = 0;
    std::size_t fields = 0;
    std::vector<std::string> codings;
    bool has_transfer_encoding = false;
    for (const auto& field : head) {
        ++fields;
        const auto value = field.value();
        if (has_line_break_or_nul(value))
            return refuse("a header value contains a line break or NUL");
        if (field.name() == bhttp::field::host) {
            ++hosts;
            if (!is_valid_host(value)) return refuse("the Host header is not a host[:port]");
        }
        if (field.name() == bhttp::field::content_length) {
            // Beast takes "1, 1" and repeated equal lines as 1; one plain number leaves no
            // room for a reading that differs.
            ++content_lengths;
            if (value.empty() || !std::all_of(value.begin(), value.end(), is_digit))
                return refuse("Content-Length must be one decimal number");
        }
        if (field.name() == bhttp::field::transfer_encoding) {
            has_transfer_encoding = true;
            auto tokens = connection_tokens(value);  // the same comma-separated list syntax
            codings.insert(codings.end(), tokens.begin(), tokens.end());
            if (tokens.empty()) return refuse("an empty Transfer-Encoding");
        }
    }
    if (fields > kMaxHeaderFields)
        return make_error(ErrorCode::headers_too_large,
                          "the request has more than " + std::to_string(kMaxHeaderFields) + " header fields");
    if (content_lengths > 1) return refuse("Content-Length must be one decimal number");
    if (has_transfer_encoding) {
        if (head.version() < 11) return refuse("Transfer-Encoding is not allowed in HTTP/1.0");
        // Only chunked, once: any other coding (or chunked twice) could be framed differently
        // by the upstream, and the gateway would have to decode it anyway.
        if (codings.size() != 1 || codings.front() != "chunked")
            return refuse("Transfer-Encoding must be exactly \"chunked\"");
        if (content_lengths > 0) return refuse("Content-Length and Transfer-Encoding together");
    }
    if (head.version() >= 11 && hosts != 1)
        return refuse(hosts == 0 ? "the Host header is missing" : "the Host header is repeated");
    if (hosts > 1) return refuse("the Host header is repeated");
    const auto target = std::string_view(head.target());
    const bool origin_form = !target.empty() && target.front() == '/';
    const bool absolute_form = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
    if (!origin_form && !absolute_form)
        return refuse("the request target must be a path (origin-form)");
    // Its authority becomes the Host (RFC 9112 §3.2.2), so it is held to the same rule.
    if (absolute_form) {
        const auto authority = target_authority(target);
        if (authority.empty() || !is_valid_host(authority))
            return refuse("the request target's host is not a host[:port]");
    }
    return std::nullopt;
}

std::string_view target_authority(std::string_view target) {
    const auto scheme_end = target.find("://");
    if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) return {};
    const auto start = scheme_end + 3;
    return target.substr(start, target.find_first_of("/?#", start) - start);
}

std::string origin_form(std::string_view target) {
    if (target.empty() || target.front() == '/') return std::string(target);
    const auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return std::string(target);
    const auto path = target.find_first_of("/?", scheme_end + 3);
    if (path == std::string_view::npos) return "/";
    if (target[path] == '?') return "/" + std::string(target.substr(path));
    return std::string(target.substr(path));
}

}  // namespace llmgw::http
