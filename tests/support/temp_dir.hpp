// A scratch directory for one test (config files, certificates), removed afterwards.
#pragma once

#include <string>
#include <string_view>

namespace llmgw::testing {

class TempDir {
public:
    // Creates /tmp/llmgw-test-XXXXXX. Throws std::runtime_error on failure.
    TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    // Removes the directory and everything in it.
    ~TempDir();

    const std::string& path() const { return path_; }
    // Full path of `name` inside the directory (the file need not exist).
    std::string file(std::string_view name) const;
    // Writes `content` to `name` (parent folders created, file replaced); returns the full
    // path. Throws std::runtime_error on failure.
    std::string write(std::string name, std::string_view content);

private:
    void remove() noexcept;
    std::string path_;
};

}  // namespace llmgw::testing
