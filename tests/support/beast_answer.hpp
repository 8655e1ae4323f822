// What Beast's response parser makes of an upstream answer's fields, as the forwarder relayed
// them before llmgw had its own parser: the reference AnswerParser is held to (its unit tests
// and the answer_parser fuzz target).
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "llmgw/headers/header_names.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::testing {

// The fields a proxy relays, in order, names in lower case: not the hop-by-hop set, not
// Content-Length, not what a Connection or Proxy-Connection field names.
inline std::vector<std::pair<std::string, std::string>> end_to_end_fields(const http::ResponseHead& head) {
    namespace bhttp = http::beast::http;
    std::vector<std::string> listed;
    for (const auto& field : head)
        if (field.name() == bhttp::field::connection || field.name() == bhttp::field::proxy_connection)
            for (auto& token : http::connection_tokens(field.value())) listed.push_back(token);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& field : head) {
        auto name = headers::to_lower(field.name_string());
        if (headers::is_hop_by_hop(name) || name == "content-length" ||
            std::find(listed.begin(), listed.end(), name) != listed.end())
            continue;
        out.emplace_back(std::move(name), std::string(field.value()));
    }
    return out;
}

}  // namespace llmgw::testing
