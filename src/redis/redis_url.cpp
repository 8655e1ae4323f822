// redis:// and rediss:// URL parsing; error messages describe the problem without echoing any part of the URL.
#include "llmgw/redis/redis_url.hpp"

#include <charconv>
#include <limits>

namespace llmgw::redis {
namespace {

constexpr std::string_view kScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";

std::optional<RedisUrl> fail(std::string& error, std::string message) {
    error = std::move(message);
    return std::nullopt;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX decoding for the user-info part; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

template <typename T>
std::optional<T> parse_number(std::string_view text, T min, T max) {
    T value{};
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max)
        return std::nullopt;
    return value;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error) {
    RedisUrl url;
    std::string_view rest;
    if (text.substr(0, kTlsScheme.size()) == kTlsScheme) {
        url.tls = true;
        rest = text.substr(kTlsScheme.size());
    } else if (text.substr(0, kScheme.size()) == kScheme) {
        rest = text.substr(kScheme.size());
    } else {
        return fail(error, "must start with redis:// or rediss://");
    }
    if (rest.find_first_of("?#") != std::string_view::npos)
        return fail(error, "query parameters and fragments are not supported");

    // The last '@' ends the user info, so a password may hold a raw '@', ':' or '/'.
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = userinfo.find(':');
        if (colon == std::string_view::npos)
            return fail(error, "user info must be :password or user:password");
        auto username = percent_decode(userinfo.substr(0, colon));
        auto password = percent_decode(userinfo.substr(colon + 1));
        if (!username || !password) return fail(error, "malformed %-escape in the user info");
        if (password->empty()) return fail(error, "the password after ':' is empty");
        url.username = std::move(*username);
        url.password = std::move(*password);
    }

    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view path = rest.substr(authority.size());
    std::string_view port_text;
    if (authority.substr(0, 1) == "[") {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail(error, "IPv6 address is missing its ']'");
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after[0] != ':')
            return fail(error, "unexpected text after the IPv6 address");
        if (!after.empty()) port_text = after.substr(1);
        if (after == ":") return fail(error, "port is empty");
    } else {
        const auto colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) return fail(error, "port is empty");
        }
    }
    if (url.host.empty()) return fail(error, "host is missing");
    if (!port_text.empty()) {
        auto port = parse_number<unsigned>(port_text, 1, 65535);
        if (!port) return fail(error, "port must be a number from 1 to 65535");
        url.port = static_cast<uint16_t>(*port);
    }

    if (path.size() > 1) {
        auto db = parse_number<int>(path.substr(1), 0, std::numeric_limits<int>::max());
        if (!db)
            return fail(error, "database must be a non-negative number (redis://host:port/DB)");
        url.db = *db;
    }
    return url;
}

}  // namespace llmgw::redis
