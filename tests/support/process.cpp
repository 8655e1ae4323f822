// Child processes via fork/exec, output to temp files, and deadline-bounded waits.
#include "support/process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace llmgw::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Like execvp's search, but done in the parent: the child must only make async-signal-safe
// calls between fork and exec.
std::string resolve(const std::string& path) {
    if (path.find('/') != std::string::npos) return path;
    const char* dirs = std::getenv("PATH");
    std::string_view rest = dirs ? dirs : "/usr/bin:/bin";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + path;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return path;
}

// A temp file opened for the child's output; the parent keeps only the name.
int make_output_file(std::string& name_out, const std::string& program, const char* stream) {
    std::string base = program.substr(program.find_last_of('/') + 1);
    std::string name = "/tmp/llmgw-" + base + "-" + stream + "-XXXXXX";
    int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) fail("Process: mkostemp " + name);
    name_out = name;
    return fd;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void exec_child(pid_t parent, int in_fd, int out_fd, int err_fd, int report_fd,
                             const char* path, char* const* argv, char* const* envp) {
    // Never outlive the test process, even when it crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    if (::dup2(in_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
        ::dup2(err_fd, STDERR_FILENO) < 0) {
        int error = errno;
        (void)!::write(report_fd, &error, sizeof error);
        ::_exit(127);
    }
    ::execve(path, argv, envp);
    int error = errno;
    (void)!::write(report_fd, &error, sizeof error);
    ::_exit(127);
}

}  // namespace

Process Process::start(std::string path, std::vector<std::string> args,
                       std::map<std::string, std::string> extra_env) {
    Process proc;
    proc.path_ = resolve(path);

    std::vector<std::string> env_strings;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view kv(*entry);
        std::string name(kv.substr(0, kv.find('=')));
        if (!extra_env.count(name)) env_strings.emplace_back(kv);
    }
    for (const auto& [name, value] : extra_env) env_strings.push_back(name + "=" + value);

    std::vector<char*> argv{proc.path_.data()};
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& kv : env_strings) envp.push_back(kv.data());
    envp.push_back(nullptr);

    // Descriptors are O_CLOEXEC: dup2 in the child clears the flag on 0, 1 and 2 only.
    int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) fail("Process: open /dev/null");
    int out_fd = make_output_file(proc.stdout_path_, proc.path_, "out");
    int err_fd = make_output_file(proc.stderr_path_, proc.path_, "err");
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) fail("Process: pipe2");

    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
        exec_child(parent, in_fd, out_fd, err_fd, report[1], proc.path_.c_str(), argv.data(),
                   envp.data());
    }
    int fork_errno = errno;
    for (int fd : {in_fd, out_fd, err_fd, report[1]}) ::close(fd);
    if (child < 0) {
        ::close(report[0]);
        errno = fork_errno;
        fail("Process: fork");
    }
    proc.pid_ = child;

    // The pipe closes on a successful exec; otherwise the child reports errno through it.
    int exec_errno = 0;
    ssize_t got;
    do {
        got = ::read(report[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    ::close(report[0]);
    if (got > 0) {
        proc.reap(true);
        errno = exec_errno;
        fail("Process: cannot execute " + proc.path_);
    }
    return proc;
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      path_(std::move(other.path_)),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {
    other.pid_ = -1;
    other.stdout_path_.clear();
    other.stderr_path_.clear();
}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        release();
        pid_ = other.pid_;
        status_ = other.status_;
        path_ = std::move(other.path_);
        stdout_path_ = std::move(other.stdout_path_);
        stderr_path_ = std::move(other.stderr_path_);
        other.pid_ = -1;
        other.stdout_path_.clear();
        other.stderr_path_.clear();
    }
    return *this;
}

Process::~Process() {
    release();
}

void Process::release() noexcept {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    pid_ = -1;
    if (!stdout_path_.empty()) ::unlink(stdout_path_.c_str());
    if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
    stdout_path_.clear();
    stderr_path_.clear();
}

bool Process::reap(bool block) {
    if (status_) return true;
    if (pid_ <= 0) return false;
    int raw = 0;
    pid_t got;
    do {
        got = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == 0) return false;
    if (got < 0) {
        status_ = -1;  // someone else reaped it (e.g. SIGCHLD ignored): status unknown
    } else if (WIFEXITED(raw)) {
        status_ = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status_ = 128 + WTERMSIG(raw);
    } else {
        return false;
    }
    return true;
}

std::string Process::stdout_text() const {
    return read_file(stdout_path_);
}
std::string Process::stderr_text() const {
    return read_file(stderr_path_);
}

bool Process::wait_for_output(std::string_view needle, std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    auto found = [&] {
        return stdout_text().find(needle) != std::string::npos ||
               stderr_text().find(needle) != std::string::npos;
    };
    for (;;) {
        // Check exit first, then output: a child that printed and exited is still a match.
        bool exited = !running();
        if (found()) return true;
        auto now = Clock::now();
        if (exited || now >= until) return false;
        std::this_thread::sleep_for(std::min<Clock::duration>(kPollInterval, until - now));
    }
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    for (;;) {
        if (reap(false)) return status_;
        auto now = Clock::now();
        if (now >= until) return std::nullopt;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(std::chrono::milliseconds(5), until - now));
    }
}

bool Process::running() {
    return pid_ > 0 && !reap(false);
}

void Process::signal(int sig) {
    // A child that exited but is not reaped yet is a zombie: its pid cannot be reused.
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

int Process::terminate(std::chrono::milliseconds grace) {
    if (pid_ <= 0) throw std::logic_error("Process::terminate on a moved-from Process");
    if (!running()) return *status_;
    signal(SIGTERM);
    if (auto status = wait_exit(grace)) return *status;
    signal(SIGKILL);
    reap(true);
    return *status_;
}

std::optional<int> run_to_exit(std::string path, std::vector<std::string> args,
                               std::chrono::milliseconds deadline, std::string* out,
                               std::string* err, std::map<std::string, std::string> extra_env) {
    Process proc = Process::start(std::move(path), std::move(args), std::move(extra_env));
    std::optional<int> status = proc.wait_exit(deadline);
    if (!status) {
        proc.signal(SIGKILL);
        proc.wait_exit(std::chrono::seconds(10));
    }
    if (out) *out = proc.stdout_text();
    if (err) *err = proc.stderr_text();
    return status;
}

}  // namespace llmgw::testing
