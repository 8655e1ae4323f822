// Header rules for the request that goes upstream.
#include "llmgw/upstream/upstream_request.hpp"

#include <algorithm>
#include <charconv>
#include <boost/beast/http/field.hpp>

#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::upstream {

namespace bhttp = http::beast::http;

void strip_hop_by_hop(http::Request& request) {
    std::vector<std::string> listed;
    for (const auto& field : request) {  // every Connection line counts
        if (field.name() != bhttp::field::connection) continue;
        auto tokens = http::connection_tokens(field.value());
        listed.insert(listed.end(), tokens.begin(), tokens.end());
    }
    for (const auto& name : listed)
        if (!http::is_set_by_gateway(name)) request.erase(name);
    for (auto it = request.begin(); it != request.end();) {
        if (http::is_hop_by_hop(it->name_string()) || it->name() == bhttp::field::expect)
            it = request.erase(it);
        else
            ++it;
    }
}

void apply_header_edits(http::Request& request, const config::HeaderEdits& edits) {
    for (const auto& name : edits.remove) request.erase(name);
    for (const auto& [name, value] : edits.set) request.set(name, value);
}

std::string forwarding_lines(http::Request& request, std::string_view client_ip,
                             std::string_view request_id) {
    std::string lines;
    // The lines below, and room for a traced request's traceparent line (70 bytes).
    lines.reserve(96 + 72 + client_ip.size() + request_id.size());
    // Only ever the gateway's own account of these; one pass over the client's fields.
    for (auto it = request.begin(); it != request.end();) {
        const auto name = std::string_view(it->name_string());
        if (it->name() == bhttp::field::host) {
            lines.append("x-forwarded-host: ").append(it->value()).append("\r\n");
        } else if (http::iequals(name, "x-forwarded-host") || http::iequals(name, "x-forwarded-for") ||
                   http::iequals(name, "x-forwarded-proto") || http::iequals(name, "x-request-id")) {
            it = request.erase(it);
            continue;
        }
        ++it;
    }
    lines.append("x-forwarded-for: ").append(client_ip).append("\r\n");
    lines.append("x-forwarded-proto: http\r\n");
    lines.append("x-request-id: ").append(request_id).append("\r\n");
    return lines;
}

// One walk over the fields, comparing their codes: four lookups in Beast's field set (names
// compared case-insensitively) cost about 1,500 instructions a request.
void prepare_length(http::Request& request) {
    if (!request.body().empty()) {
        char digits[24];
        const auto* end = std::to_chars(digits, digits + sizeof digits, request.body().size()).ptr;
        const auto size = std::string_view(digits, static_cast<std::size_t>(end - digits));
        int lengths = 0;
        bool length_matches = false;
        bool transfer_encoding = false;
        for (const auto& field : request) {
            if (field.name() == bhttp::field::content_length) {
                ++lengths;
                length_matches = field.value() == size;
            } else if (field.name() == bhttp::field::transfer_encoding) {
                transfer_encoding = true;
            }
        }
        if (lengths == 1 && length_matches && !transfer_encoding) return;
    }
    request.prepare_payload();
}

void insert_lines(http::Request& request, std::string_view lines) {
    while (!lines.empty()) {
        const auto end = lines.find("\r\n");
        const auto line = lines.substr(0, end);
        const auto colon = line.find(": ");
        request.insert(line.substr(0, colon), line.substr(colon + 2));
        lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    }
}

void append_host(const config::Endpoint& endpoint, std::string& out) {
    const bool ipv6 = endpoint.host.find(':') != std::string::npos;
    if (ipv6) out.push_back('[');
    out.append(endpoint.host);
    if (ipv6) out.push_back(']');
    if (endpoint.port == (endpoint.tls ? 443 : 80)) return;
    char digits[8];
    const auto* end = std::to_chars(digits, digits + sizeof digits, endpoint.port).ptr;
    out.push_back(':');
    out.append(digits, static_cast<std::size_t>(end - digits));
}

void write_head(const http::Request& request, std::string_view lines, std::string& out,
                const config::Endpoint* endpoint) {
    out.clear();
    out.append(request.method_string()).push_back(' ');
    out.append(request.target());
    const unsigned version = request.version();
    out.append(" HTTP/");
    out.push_back(static_cast<char>('0' + version / 10));
    out.push_back('.');
    out.push_back(static_cast<char>('0' + version % 10));
    out.append("\r\n");
    if (endpoint != nullptr) {
        out.append("Host: ");
        append_host(*endpoint, out);
        out.append("\r\n");
    }
    for (const auto& field : request) {
        if (endpoint != nullptr &&
            (field.name() == bhttp::field::host || field.name() == bhttp::field::connection))
            continue;
        out.append(field.name_string()).append(": ");
        out.append(field.value()).append("\r\n");
    }
    out.append(lines);
    out.append("\r\n");
}

}  // namespace llmgw::upstream
