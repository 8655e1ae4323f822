// An spdlog sink that appends lines to a file and can reopen it by path, for log rotation.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>
#include <system_error>

namespace llmgw::observability {

// Each line is one write(2) on an O_APPEND descriptor, under the sink's mutex, and reopen()
// takes the same mutex: a line lands whole in either the old file or the new one.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    // Creates missing directories and opens `path` for appending; throws std::system_error.
    explicit ReopenableFileSink(std::string path);
    ~ReopenableFileSink() override;
    ReopenableFileSink(const ReopenableFileSink&) = delete;
    ReopenableFileSink& operator=(const ReopenableFileSink&) = delete;

    // Opens `path` again (a new file when logrotate renamed the old one) and switches to it.
    // On failure the old file stays in use and the error is returned.
    std::error_code reopen();
    const std::string& path() const { return path_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}  // nothing is buffered: every line is written at once

private:
    std::string path_;
    int fd_ = -1;
    bool failing_ = false;  // the last write failed (reported once, not per line)
};

}  // namespace llmgw::observability
