// Small pieces every admin call uses: query parameters, dates, JSON answers.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/http/response_writer.hpp"

namespace llmgw::admin {

// %XX and '+' decoded (consumer names may hold any character).
std::string percent_decode(std::string_view text);
// The value of `name` in a query string ("" when absent), decoded.
std::string query_parameter(std::string_view target, std::string_view name);
// YYYY-MM-DD naming a real calendar day.
bool is_date(const std::string& text);

http::Task<void> send_json(http::ResponseWriter& writer, std::string_view body,
                           http::beast::http::status status = http::beast::http::status::ok);
http::Task<void> send_error(http::ResponseWriter& writer, const http::GatewayError& error);

}  // namespace llmgw::admin
