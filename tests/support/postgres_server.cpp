// PostgreSQL child processes for tests, run as `postgres` through setpriv (which execs, so
// the child is the server itself and signals reach it).
#include "support/postgres_server.hpp"

#include <pwd.h>
#include <csignal>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/ports.hpp"

namespace llmgw::testing {

namespace {

using namespace std::chrono_literals;

const std::string bin = "/usr/lib/postgresql/15/bin/";

std::vector<std::string> as_postgres(std::vector<std::string> command) {
    std::vector<std::string> args = {"--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
    args.insert(args.end(), command.begin(), command.end());
    return args;
}

}  // namespace

PostgresServer PostgresServer::start() {
    TempDir dir;
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) throw std::runtime_error("no postgres user (install postgresql)");
    if (chown(dir.path().c_str(), user->pw_uid, user->pw_gid) != 0)
        throw std::runtime_error("cannot hand " + dir.path() + " to postgres");
    std::string out, err;
    const auto status = run_to_exit(
        "setpriv",
        as_postgres({bin + "initdb", "-D", dir.file("data"), "-U", "llmgw", "-A", "trust",
                     "--no-sync", "--no-instructions"}),
        60s, &out, &err);
    if (status != 0) throw std::runtime_error("initdb failed: " + out + err);
    PostgresServer server(std::move(dir), free_port());
    server.launch();
    return server;
}

PostgresServer::~PostgresServer() {
    thaw();  // a test that failed while the server was frozen
    if (process_ && process_->running()) process_->terminate(10s);
}

std::string PostgresServer::url() const {
    return "postgres://llmgw@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

void PostgresServer::launch() {
    process_.emplace(Process::start(
        "setpriv", as_postgres({bin + "postgres", "-D", dir_.file("data"), "-p",
                                std::to_string(port_), "-k", dir_.path(), "-c",
                                "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                                "synchronous_commit=off", "-c", "full_page_writes=off"})));
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
        if (!process_->running()) break;
        const auto ready = run_to_exit(bin + "pg_isready",
                                       {"-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "llmgw",
                                        "-d", "postgres"},
                                       5s);
        if (ready == 0) return;
        std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("postgres did not start: " + process_->stderr_text());
}

void PostgresServer::stop() {
    if (!process_ || !process_->running()) return;
    process_->signal(SIGINT);
    process_->wait_exit(30s);
}

// The server's own processes: its children (backends, checkpointer, ...) by their parent pid.
void PostgresServer::signal_all(int sig) {
    if (!process_ || !process_->running()) return;
    const auto server = process_->pid();
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto after_name = line.rfind(')');
        if (after_name == std::string::npos) continue;
        std::istringstream fields(line.substr(after_name + 2));
        char state = 0;
        pid_t parent = 0;
        fields >> state >> parent;
        if (parent == server) ::kill(std::stoi(name), sig);
    }
    ::kill(server, sig);
}

void PostgresServer::freeze() { signal_all(SIGSTOP); }

void PostgresServer::thaw() { signal_all(SIGCONT); }

void PostgresServer::restart() {
    stop();
    launch();
}

}  // namespace llmgw::testing
