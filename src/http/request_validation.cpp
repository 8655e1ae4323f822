// Framing and field checks on a request head, before its body is read.
#include "llmgw/http/request_validation.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>

#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::http {

namespace bhttp = beast::http;

namespace {
GatewayError refuse(std::string message) { return bad_request(std::move(message), "malformed_request"); }
}  // namespace

std::optional<GatewayError> validate_request_head(const bhttp::request_header<>& head) {
    int hosts = 0;
    std::vector<std::string> codings;
    for (const auto& field : head) {
        const auto value = field.value();
        if (std::any_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; }))
            return refuse("a header value contains a line break or NUL (obs-fold is not accepted)");
        if (field.name() == bhttp::field::host) ++hosts;
        if (field.name() == bhttp::field::transfer_encoding) {
            auto tokens = connection_tokens(value);  // the same comma-separated list syntax
            codings.insert(codings.end(), tokens.begin(), tokens.end());
            if (tokens.empty()) return refuse("an empty Transfer-Encoding");
        }
    }
    const bool has_transfer_encoding = head.find(bhttp::field::transfer_encoding) != head.end();
    if (has_transfer_encoding) {
        if (head.version() < 11) return refuse("Transfer-Encoding is not allowed in HTTP/1.0");
        // Only chunked, once: any other coding (or chunked twice) could be framed differently
        // by the upstream, and the gateway would have to decode it anyway.
        if (codings.size() != 1 || codings.front() != "chunked")
            return refuse("Transfer-Encoding must be exactly \"chunked\"");
    }
    if (head.version() >= 11 && hosts != 1)
        return refuse(hosts == 0 ? "the Host header is missing" : "the Host header is repeated");
    if (hosts > 1) return refuse("the Host header is repeated");
    const auto target = std::string_view(head.target());
    const bool origin_form = !target.empty() && target.front() == '/';
    const bool absolute_form = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
    if (!origin_form && !absolute_form) return refuse("the request target must be a path (origin-form)");
    return std::nullopt;
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
