// Header names with fixed meaning to the gateway: the hop-by-hop set and the ones it sets itself.
// A leaf with no llmgw dependencies, so both the config (which refuses route edits of these
// headers) and http/upstream (which enforce them on the wire) read the one list without a
// component cycle.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace llmgw::headers {

// ASCII only, as the C locale's tolower (a libc call per byte, which showed in profiles).
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// `name` is `lower_name` (already lower case) in any case.
inline bool equals_lower(std::string_view name, std::string_view lower_name) {
    return name.size() == lower_name.size() &&
           std::equal(name.begin(), name.end(), lower_name.begin(),
                      [](char x, char y) { return lower(x) == y; });
}

// ASCII lower case (header names, directive names).
inline std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

// True for the fixed hop-by-hop set (RFC 9110 §7.6.1, plus Keep-Alive and Proxy-Connection),
// compared case-insensitively.
inline bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 9> names = {
        "connection",       "keep-alive",         "te",
        "trailer",          "transfer-encoding",  "upgrade",
        "proxy-connection", "proxy-authenticate", "proxy-authorization"};
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return iequals(n, name); });
}

// Headers the gateway sets itself on the upstream request; a client cannot make the gateway
// drop or replace them through the Connection header.
inline bool is_set_by_gateway(std::string_view name) {
    static constexpr std::array<std::string_view, 6> names = {
        "host",        "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-request-id"};
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return iequals(n, name); });
}

}  // namespace llmgw::headers
