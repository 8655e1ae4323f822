// One JSON line per request, written off the request path by spdlog's async logger.
#pragma once

#include <memory>
#include <string>

#include "llmgw/observability/access_record.hpp"

namespace spdlog {
class logger;
}

namespace llmgw::observability {
class ReopenableFileSink;
}

namespace llmgw::observability {

// The JSON object (no newline) for one record.
std::string format_access_line(const AccessRecord& record);

class AccessLog {
public:
    // destination: "stdout", "off" or a file path (appended to).
    explicit AccessLog(const std::string& destination);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    void write(const AccessRecord& record);
    void flush();
    // After logrotate renamed the file: opens the configured path again, so the next lines
    // go to a new file. Lines already queued land whole in one of the two. A file that cannot
    // be opened is logged and the old one stays in use. Nothing to do for stdout and off.
    void reopen();

private:
    std::shared_ptr<spdlog::logger> logger_;         // null when off
    std::shared_ptr<ReopenableFileSink> file_sink_;  // null unless a file
};

}  // namespace llmgw::observability
