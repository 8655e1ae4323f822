// One JSON line per request, written off the request path by spdlog's async logger.
#pragma once

#include <memory>
#include <string>

#include "llmgw/observability/access_record.hpp"

namespace spdlog {
class logger;
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

private:
    std::shared_ptr<spdlog::logger> logger_;  // null when off
};

}  // namespace llmgw::observability
