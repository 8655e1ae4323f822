// Listen addresses, endpoint URLs, path prefixes and header names as the config accepts them.
#include "values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "llmgw/headers/header_names.hpp"

namespace llmgw::config {

namespace {

bool valid_header_name(const std::string& name) {
    static constexpr std::string_view tchar = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || tchar.find(static_cast<char>(c)) != std::string_view::npos;
    });
}

bool valid_header_value(const std::string& value) {
    return std::none_of(value.begin(), value.end(),
                        [](unsigned char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::uint16_t parse_port(const YamlNode& node, std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535)
        node.fail("invalid port \"" + std::string(text) + "\"");
    return static_cast<std::uint16_t>(value);
}

}  // namespace

ListenAddress parse_listen(const YamlNode& node) {
    const auto text = node.as_string();
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        node.fail("expected \"host:port\", got \"" + node.raw() + "\"");
    std::string host = text.substr(0, colon);
    if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return ListenAddress{host, parse_port(node, std::string_view(text).substr(colon + 1))};
}

std::string format_listen(const ListenAddress& address) {
    return address.host + ":" + std::to_string(address.port);
}

namespace {

// http[s]://host[:port] (`authority` without the scheme) as an Endpoint; `url` as written.
Endpoint parse_authority(const YamlNode& node, std::string url, bool tls,
                         std::string_view authority) {
    Endpoint endpoint;
    endpoint.url = std::move(url);
    endpoint.tls = tls;
    if (tls) endpoint.port = 443;
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || authority.back() == ']') {
        endpoint.host = std::string(authority);
    } else {
        endpoint.host = std::string(authority.substr(0, colon));
        endpoint.port = parse_port(node, authority.substr(colon + 1));
        if (endpoint.port == 0) node.fail("an endpoint needs a port other than 0");
    }
    if (endpoint.host.size() > 2 && endpoint.host.front() == '[')
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    if (endpoint.host.empty()) node.fail("missing host in \"" + node.raw() + "\"");
    return endpoint;
}

// The part after http:// or https://; fails on any other scheme.
std::string_view after_scheme(const YamlNode& node, const std::string& url, bool& tls) {
    tls = url.rfind("https://", 0) == 0;
    if (!tls && url.rfind("http://", 0) != 0)
        node.fail("expected an http:// or https:// URL, got \"" + node.raw() + "\"");
    return std::string_view(url).substr(tls ? 8 : 7);
}

}  // namespace

Endpoint parse_endpoint_url(const YamlNode& node) {
    const auto url = node.as_string();
    bool tls = false;
    auto authority = after_scheme(node, url, tls);
    if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
    if (authority.find('/') != std::string_view::npos)
        node.fail("an endpoint URL has no path (use routes[].rewrite.path_prefix)");
    return parse_authority(node, url, tls, authority);
}

Endpoint parse_url_with_path(const YamlNode& node, std::string& path) {
    const auto url = node.as_string();
    bool tls = false;
    auto rest = after_scheme(node, url, tls);
    const auto slash = rest.find('/');
    path = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
    if (path.find_first_of(" ?#\r\n") != std::string::npos)
        node.fail("the URL's path must not contain spaces, a query or a fragment");
    return parse_authority(node, url, tls, rest.substr(0, slash));
}

std::string parse_path_prefix(const YamlNode& node) {
    auto prefix = node.as_string();
    if (prefix.empty() || prefix.front() != '/') node.fail("must start with \"/\"");
    if (!valid_header_value(prefix) || prefix.find(' ') != std::string::npos)
        node.fail("must not contain spaces or control characters");
    return prefix;
}

std::vector<std::pair<std::string, std::string>> parse_header_map(const YamlNode& node) {
    std::vector<std::pair<std::string, std::string>> headers;
    node.for_each_entry([&](const std::string& name, const YamlNode& value) {
        if (!valid_header_name(name)) value.fail("invalid header name");
        auto text = value.as_string();
        if (!valid_header_value(text)) value.fail("header values cannot contain CR, LF or NUL");
        headers.emplace_back(headers::to_lower(name), std::move(text));
    });
    return headers;
}

std::string parse_removable_header(const YamlNode& node) {
    auto name = node.as_string();
    if (!valid_header_name(name)) node.fail("invalid header name");
    name = headers::to_lower(name);
    if (managed_by_gateway(name)) node.fail("this header is managed by the gateway");
    return name;
}

bool managed_by_gateway(const std::string& lower_name) {
    return headers::is_hop_by_hop(lower_name) || headers::is_set_by_gateway(lower_name) ||
           lower_name == "expect";
}

}  // namespace llmgw::config
