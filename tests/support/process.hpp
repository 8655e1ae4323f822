// Child processes for tests: the llmgw binary and fake model servers, with captured output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::testing {

// A running child process. Its stdout and stderr each go to a temp file, so the child never
// blocks on a full pipe and the output can be read at any time. Every wait has a deadline.
// The destructor SIGKILLs and reaps a child still running and removes the temp files.
class Process {
public:
    // Starts `path` with `args` (argv[0] is `path`), stdin from /dev/null, the parent's
    // environment plus `extra_env` (which overrides); a `path` without '/' is looked up in
    // PATH. The child is SIGKILLed if the thread that started it dies (so a crashed test
    // leaves no orphans: start children from the test's own thread). Throws
    // std::runtime_error if the program cannot be started.
    static Process start(std::string path, std::vector<std::string> args,
                         std::map<std::string, std::string> extra_env = {});

    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    pid_t pid() const { return pid_; }
    const std::string& path() const { return path_; }

    // Everything the child wrote so far (re-reads the files).
    std::string stdout_text() const;
    std::string stderr_text() const;
    const std::string& stdout_path() const { return stdout_path_; }
    const std::string& stderr_path() const { return stderr_path_; }

    // Polls stdout and stderr every ~10 ms until `needle` appears (true). Returns false when
    // the deadline passes, or as soon as the child has exited without printing it.
    bool wait_for_output(std::string_view needle, std::chrono::milliseconds deadline);

    // Exit code, or 128+signal when a signal ended the child; nullopt if still running at
    // the deadline.
    std::optional<int> wait_exit(std::chrono::milliseconds deadline);

    bool running();
    // Sends `sig` to the child (no-op once it has been reaped).
    void signal(int sig);
    // SIGTERM, up to `grace` for the child to exit, then SIGKILL. Returns the exit status
    // as wait_exit does.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
    Process() = default;
    bool reap(bool block);  // true once the child has been reaped and status_ is set
    void release() noexcept;

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string path_;
    std::string stdout_path_;
    std::string stderr_path_;
};

// Runs a short command (e.g. `llmgw --config f --check`) to completion. Returns its exit
// status (as Process::wait_exit), or nullopt if it was still running at the deadline (it is
// then killed). `out` / `err`, when given, receive its output.
std::optional<int> run_to_exit(std::string path, std::vector<std::string> args,
                               std::chrono::milliseconds deadline, std::string* out = nullptr,
                               std::string* err = nullptr,
                               std::map<std::string, std::string> extra_env = {});

}  // namespace llmgw::testing
