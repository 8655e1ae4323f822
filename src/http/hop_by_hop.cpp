// Hop-by-hop header rules shared by the request and the response path.
#include "llmgw/http/hop_by_hop.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace llmgw::http {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::vector<std::string> list_tokens(std::string_view value) {
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos <= value.size()) {
        auto comma = value.find(',', pos);
        if (comma == std::string_view::npos) comma = value.size();
        auto token = value.substr(pos, comma - pos);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (!token.empty()) tokens.push_back(to_lower(token));
        pos = comma + 1;
    }
    return tokens;
}

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 9> names = {
        "connection",       "keep-alive",         "te",
        "trailer",          "transfer-encoding",  "upgrade",
        "proxy-connection", "proxy-authenticate", "proxy-authorization"};
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return iequals(n, name); });
}

bool is_set_by_gateway(std::string_view name) {
    static constexpr std::array<std::string_view, 6> names = {
        "host",        "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-request-id"};
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return iequals(n, name); });
}

}  // namespace llmgw::http
