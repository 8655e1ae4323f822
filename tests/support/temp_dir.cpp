// TempDir: mkdtemp on creation, recursive removal on destruction.
#include "support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace llmgw::testing {

TempDir::TempDir() {
    std::string pattern = "/tmp/llmgw-test-XXXXXX";
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error(std::string("TempDir: mkdtemp: ") + std::strerror(errno));
    path_ = pattern;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::move(other.path_);
        other.path_.clear();
    }
    return *this;
}

TempDir::~TempDir() {
    remove();
}

void TempDir::remove() noexcept {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    path_.clear();
}

std::string TempDir::file(std::string_view name) const {
    return (std::filesystem::path(path_) / name).string();
}

std::string TempDir::write(std::string name, std::string_view content) {
    std::filesystem::path full = std::filesystem::path(path_) / name;
    std::error_code ec;
    std::filesystem::create_directories(full.parent_path(), ec);
    if (ec) throw std::runtime_error("TempDir::write: " + full.string() + ": " + ec.message());
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw std::runtime_error("TempDir::write: cannot write " + full.string());
    return full.string();
}

}  // namespace llmgw::testing
