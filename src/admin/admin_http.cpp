// Small pieces every admin call uses: query parameters, dates, JSON answers.
#include "admin_http.hpp"

#include <cctype>
#include <chrono>

namespace llmgw::admin {

namespace bhttp = http::beast::http;

// %XX and '+' decoded (consumer names may hold any character).
std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// The value of `name` in a query string ("" when absent); values here are plain tokens.
std::string query_parameter(std::string_view target, std::string_view name) {
    const auto question = target.find('?');
    if (question == std::string_view::npos) return {};
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name && eq != std::string_view::npos)
            return percent_decode(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

// YYYY-MM-DD naming a real calendar day.
bool is_date(const std::string& text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
    for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
        if (text[i] < '0' || text[i] > '9') return false;
    const std::chrono::year_month_day date{
        std::chrono::year(std::stoi(text.substr(0, 4))),
        std::chrono::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
        std::chrono::day(static_cast<unsigned>(std::stoi(text.substr(8, 2))))};
    return date.ok();
}

http::Task<void> send_json(http::ResponseWriter& writer, std::string_view body,
                           bhttp::status status) {
    http::ResponseHead head;
    head.result(status);
    head.set(bhttp::field::content_type, "application/json");
    co_await writer.send_complete(head, body);
}

http::Task<void> send_error(http::ResponseWriter& writer, const http::GatewayError& error) {
    co_await writer.send_error(error, "");
}

}  // namespace llmgw::admin
