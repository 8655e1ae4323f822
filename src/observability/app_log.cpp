// spdlog's default logger, formatting each message as one JSON object on stderr.
#include "llmgw/observability/app_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <regex>

#include "json_text.hpp"

namespace llmgw::observability {
namespace {

// The config's names for the levels (logging.level), so one vocabulary serves both.
std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
            return "trace";
        case spdlog::level::debug:
            return "debug";
        case spdlog::level::info:
            return "info";
        case spdlog::level::warn:
            return "warn";
        case spdlog::level::err:
            return "error";
        case spdlog::level::critical:
            return "critical";
        default:
            return "info";
    }
}

class JsonLineFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto line = format_app_line(msg.time, level_name(msg.level),
                                    std::string_view(msg.payload.data(), msg.payload.size()));
        line.push_back('\n');
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLineFormatter>();
    }
};

}  // namespace

std::string redact_secrets(std::string_view text) {
    // Application logs are rare (start-up, state changes), so regexes are affordable here.
    static const std::regex url_password(R"(([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"]*:)[^\s@/"]+@)");
    static const std::regex bearer(R"((bearer\s+)[^\s"',;]+)", std::regex::icase);
    static const std::regex api_key(R"(sk-llmgw-[0-9A-Za-z]+)");
    static const std::regex query_secret(
        R"(([?&](?:api[_-]?key|key|token|access_token|password|passwd|secret)=)[^&\s"]+)",
        std::regex::icase);
    std::string out(text);
    out = std::regex_replace(out, url_password, "$1[redacted]@");
    out = std::regex_replace(out, bearer, "$1[redacted]");
    out = std::regex_replace(out, api_key, "sk-llmgw-[redacted]");
    out = std::regex_replace(out, query_secret, "$1[redacted]");
    return out;
}

std::string format_app_line(std::chrono::system_clock::time_point time, std::string_view level,
                            std::string_view message) {
    std::string out;
    out.reserve(96 + message.size());
    out += "{\"time\":";
    append_json_string(out, iso8601_utc(time));
    out += ",\"level\":";
    append_json_string(out, level);
    out += ",\"msg\":";
    append_json_string(out, redact_secrets(message));
    out.push_back('}');
    return out;
}

void install_app_log() {
    // Plain (not colour) stderr sink: the lines are read by log collectors, not terminals.
    auto logger = spdlog::stderr_logger_mt("llmgw");
    logger->set_formatter(std::make_unique<JsonLineFormatter>());
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

void set_app_log_level(config::LogLevel level) {
    using config::LogLevel;
    auto spd = spdlog::level::info;
    switch (level) {
        case LogLevel::trace: spd = spdlog::level::trace; break;
        case LogLevel::debug: spd = spdlog::level::debug; break;
        case LogLevel::info: spd = spdlog::level::info; break;
        case LogLevel::warn: spd = spdlog::level::warn; break;
        case LogLevel::error: spd = spdlog::level::err; break;
    }
    spdlog::default_logger()->set_level(spd);
}

}  // namespace llmgw::observability
