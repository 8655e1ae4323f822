// Header rules for the request that goes upstream.
#include "llmgw/upstream/upstream_request.hpp"

#include <algorithm>
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

void set_forwarding_headers(http::Request& request, const std::string& client_ip,
                            const std::string& request_id) {
    request.erase("x-forwarded-host");  // only ever the gateway's own account of the Host
    if (auto host = request.find(bhttp::field::host); host != request.end())
        request.set("x-forwarded-host", host->value());
    request.set("x-forwarded-for", client_ip);
    request.set("x-forwarded-proto", "http");
    request.set("x-request-id", request_id);
}

void write_head(const http::Request& request, std::string& out) {
    out.clear();
    out.append(request.method_string()).push_back(' ');
    out.append(request.target());
    const unsigned version = request.version();
    out.append(" HTTP/");
    out.push_back(static_cast<char>('0' + version / 10));
    out.push_back('.');
    out.push_back(static_cast<char>('0' + version % 10));
    out.append("\r\n");
    for (const auto& field : request) {
        out.append(field.name_string()).append(": ");
        out.append(field.value()).append("\r\n");
    }
    out.append("\r\n");
}

}  // namespace llmgw::upstream
