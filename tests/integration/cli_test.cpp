// The command line: --version, --check and start-up failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

TEST(Cli, PrintsItsVersion) {
    std::string out;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--version"}, 5s, &out), 0);
    EXPECT_THAT(out, testing::StartsWith("llmgw "));
}

TEST(Cli, CheckAcceptsTheShippedConfigs) {
    for (const auto* file :
         {"config/quickstart.yaml", "config/llmgw.example.yaml", "bench/llmgw.yaml"}) {
        std::string out, err;
        EXPECT_EQ(
            run_to_exit(LLMGW_BINARY,
                        {"--config", std::string(LLMGW_SOURCE_DIR) + "/" + file, "--check"}, 5s,
                        &out, &err, {{"LLMGW_ADMIN_TOKEN", "t"}, {"UPSTREAM_PORT", "8000"}}),
            0)
            << file << ": " << err;
    }
}

TEST(Cli, CheckNamesTheFileLineAndKeyOfAMistake) {
    TempDir dir;
    const auto path =
        dir.write("bad.yaml",
                  "backends:\n  vllm:\n    endpoints: [ { url: \"http://127.0.0.1:1\" } ]\n"
                  "routes:\n  - name: all\n    backend: vllm\n    timeout: 5s\n");
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path, "--check"}, 5s, &out, &err), 1);
    EXPECT_THAT(err, HasSubstr("bad.yaml:7: routes[0].timeout: unknown key"));
}

TEST(Cli, CheckDoesNotBindPorts) {
    const auto port = free_port();
    TempDir dir;
    const auto path = dir.write(
        "ok.yaml", "server: { listen: \"127.0.0.1:" + std::to_string(port) +
                       "\" }\nbackends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
                       "routes: [ { name: all, backend: b } ]\n");
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path, "--check"}, 5s), 0);
    EXPECT_FALSE(wait_for_port(port, 50ms));
}

TEST(Cli, MissingConfigFileAndUnknownArgumentsFail) {
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", "/nonexistent/llmgw.yaml", "--check"}, 5s,
                          &out, &err),
              1);
    EXPECT_THAT(err, HasSubstr("cannot open"));
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--frobnicate"}, 5s, &out, &err), 2);
}

TEST(Cli, APortInUseFailsAtStartNamingTheAddress) {
    auto model = FakeModel::start("m1");
    TempDir dir;
    const auto path =
        dir.write("taken.yaml",
                  "admin: { listen: \"127.0.0.1:" + std::to_string(model.port()) +
                      "\" }\nserver: { listen: \"127.0.0.1:" + std::to_string(free_port()) +
                      "\" }\nbackends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
                      "routes: [ { name: all, backend: b } ]\n");
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path}, 5s, &out, &err), 1);
    EXPECT_THAT(err, HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(model.port())));
}

TEST(Cli, ASecondGatewayCannotShareTheListenPort) {
    auto model = FakeModel::start("m1");
    auto first = RunningGateway::start("backends: { b: { endpoints: [ { url: \"" + model.url() +
                                       "\" } ] } }\nroutes: [ { name: all, backend: b } ]\n");
    TempDir dir;
    const auto path = dir.write(
        "second.yaml", "server: { listen: \"127.0.0.1:" + std::to_string(first.port()) +
                           "\" }\nadmin: { listen: \"127.0.0.1:" + std::to_string(free_port()) +
                           "\" }\nbackends: { b: { endpoints: [ { url: \"" + model.url() +
                           "\" } ] } }\nroutes: [ { name: all, backend: b } ]\n");
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path}, 5s, &out, &err), 1);
    EXPECT_THAT(err, HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
}

TEST(Cli, SigtermStopsTheGatewayCleanly) {
    auto model = FakeModel::start("m1");
    auto gateway = RunningGateway::start("backends: { b: { endpoints: [ { url: \"" + model.url() +
                                         "\" } ] } }\nroutes: [ { name: all, backend: b } ]\n");
    EXPECT_EQ(http_request(gateway.port(), {"GET", "/v1/models"}).status, 200);
    EXPECT_EQ(gateway.process().terminate(5s), 0);
}

namespace {

const std::string closed_backend =
    "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
    "routes: [ { name: all, backend: b } ]\n";

std::string proc_file(pid_t pid, const char* name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// GLIBC_TUNABLES as the serving process sees it ("" when unset).
std::string tunables_of(pid_t pid) {
    const auto environ = proc_file(pid, "environ");
    constexpr std::string_view key = "GLIBC_TUNABLES=";
    for (std::size_t at = 0; at < environ.size();) {
        const auto end = std::min(environ.find('\0', at), environ.size());
        const std::string_view entry(environ.data() + at, end - at);
        if (entry.starts_with(key)) return std::string(entry.substr(key.size()));
        at = end + 1;
    }
    return "";
}

}  // namespace

TEST(Cli, ServesWithGlibcsThreadCacheRaisedAndUnderItsOwnName) {
    auto gateway = RunningGateway::start(closed_backend);
    const auto pid = gateway.process().pid();
    EXPECT_EQ(tunables_of(pid), "glibc.malloc.tcache_count=256");
    EXPECT_EQ(proc_file(pid, "comm"), "llmgw\n");  // not "exe": pgrep llmgw still finds it
}

TEST(Cli, AnOperatorsOwnThreadCacheSizeWins) {
    // (Other tunables of the operator's are kept too, but this glibc rewrites the process's
    // first copy of the variable, which /proc shows, as it parses it: not testable from here.)
    GatewayOptions own;
    own.env = {{"GLIBC_TUNABLES", "glibc.malloc.tcache_count=16"}};
    auto gateway = RunningGateway::start(closed_backend, own);
    EXPECT_EQ(tunables_of(gateway.process().pid()), "glibc.malloc.tcache_count=16");
}
