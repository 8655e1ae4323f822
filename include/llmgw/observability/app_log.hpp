// The application log (start-up, warnings, errors): JSON lines on stderr with secrets scrubbed.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"

namespace llmgw::observability {

// `{"time":"...","level":"...","msg":"..."}` (no newline); the message is passed through
// redact_secrets first.
std::string format_app_line(std::chrono::system_clock::time_point time, std::string_view level,
                            std::string_view message);

// `text` with credentials replaced by [redacted]: the password of a URL
// (scheme://user:PASSWORD@host), Bearer tokens, llmgw API keys (sk-llmgw-...), and the
// values of query parameters named like credentials (api_key, key, token, password, ...).
// Messages should not carry secrets in the first place; this is the net under them.
std::string redact_secrets(std::string_view text);

// Makes spdlog's default logger write application-log lines to stderr. Call once, first.
void install_app_log();
// The least severe level written (logging.level); a reload may change it.
void set_app_log_level(config::LogLevel level);

}  // namespace llmgw::observability
