// JSON string escaping and UTC timestamps shared by the access log and the application log.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace llmgw::observability {

// Appends `text` as a quoted JSON string. Control characters and every non-ASCII byte are
// escaped as \u00XX, so a line stays valid JSON whatever bytes a client sent.
void append_json_string(std::string& out, std::string_view text);

// "2026-11-25T14:06:23.095Z": UTC with milliseconds.
std::string iso8601_utc(std::chrono::system_clock::time_point time);

}  // namespace llmgw::observability
