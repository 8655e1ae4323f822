// Appends formatted lines to a file descriptor; reopen() swaps in a new descriptor for the path.
#include "reopenable_file_sink.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace llmgw::observability {
namespace {

int open_for_append(const std::string& path, std::error_code& ec) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent, ec);
        if (ec) return -1;
    }
    // 0666 less the umask, like fopen: the operator's umask decides who may read the log.
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) ec = std::error_code(errno, std::generic_category());
    return fd;
}

// Writes all of `data`; false with errno set when the file cannot take it (disk full, ...).
bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const auto written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

}  // namespace

ReopenableFileSink::ReopenableFileSink(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    fd_ = open_for_append(path_, ec);
    if (fd_ < 0) throw std::system_error(ec, "cannot open access log " + path_);
}

ReopenableFileSink::~ReopenableFileSink() {
    if (fd_ >= 0) ::close(fd_);
}

std::error_code ReopenableFileSink::reopen() {
    std::error_code ec;
    // Opened before taking the lock: writers wait only for the descriptor swap.
    const int fd = open_for_append(path_, ec);
    if (fd < 0) return ec;
    std::lock_guard lock(mutex_);
    ::close(fd_);
    fd_ = fd;
    return {};
}

void ReopenableFileSink::sink_it_(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    if (write_all(fd_, line.data(), line.size())) {
        if (failing_) spdlog::info("access log {}: writing again", path_);
        failing_ = false;
        return;
    }
    // A full disk must not turn every request into an error line on stderr.
    if (!failing_) {
        const std::error_code ec(errno, std::generic_category());
        spdlog::error("access log {}: {}; lines are dropped until it can be written", path_,
                      ec.message());
    }
    failing_ = true;
}

}  // namespace llmgw::observability
