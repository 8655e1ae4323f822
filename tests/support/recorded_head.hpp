// What a test's answer sink records: the head's fields with the lines the relay added as text
// ("name: value\r\n" each) read back into fields, so tests ask for any header one way.
#pragma once

#include <string_view>

#include "llmgw/http/beast.hpp"

namespace llmgw::testing {

inline http::ResponseHead recorded_head(const http::ResponseHead& fields, std::string_view lines) {
    http::ResponseHead head = fields;
    while (!lines.empty()) {
        const auto end = lines.find("\r\n");
        const auto line = lines.substr(0, end);
        const auto colon = line.find(':');
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        head.insert(line.substr(0, colon), value);
        lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    }
    return head;
}

}  // namespace llmgw::testing
