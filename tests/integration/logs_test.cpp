// Logs through the real binary: the access-log file rotated under load with SIGUSR1, and the
// application log on stderr as JSON lines without secrets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;
using testing::HasSubstr;

namespace {


std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every line of `text` parsed as JSON; a line that is not (a torn or merged line) fails the test.
std::vector<nlohmann::json> json_lines(const std::string& text, const std::string& what) {
    std::vector<nlohmann::json> lines;
    if (!text.empty()) {
        EXPECT_EQ(text.back(), '\n') << what << " ends inside a line";
    }
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        EXPECT_FALSE(parsed.is_discarded()) << what << ": not JSON: " << line;
        if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
    }
    return lines;
}

std::size_t count_lines(const std::string& path) {
    const auto text = read_file(path);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Waits until `condition` holds; false when `deadline` passes first.
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

}  // namespace

TEST(Logs, AccessLogFileRotatedUnderLoadLosesAndTearsNoLine) {
    auto model = FakeModel::start("m1");
    TempDir logs;
    const auto log_path = logs.file("access.log");
    const auto rotated_path = logs.file("access.log.1");
    GatewayOptions options;
    options.access_log = log_path;
    auto gateway = RunningGateway::start(backend_and_route(model), options);

    // Two clients send requests back to back, each with its own request id, until told to stop.
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::mutex ids_mutex;
    std::map<std::string, int> status_by_id;
    auto client = [&](int client_id) {
        for (int n = 0; !stop.load(); ++n) {
            const auto id = "rot-" + std::to_string(client_id) + "-" + std::to_string(n);
            int status = -1;
            try {
                status = gateway.post("/v1/chat/completions", chat_body(), {{"x-request-id", id}})
                             .status;
            } catch (const HttpError&) {
            }
            {
                std::lock_guard lock(ids_mutex);
                status_by_id[id] = status;
            }
            ++answered;
        }
    };
    std::thread first(client, 1), second(client, 2);
    const auto stop_clients = [&] {
        stop = true;
        first.join();
        second.join();
    };

    // Rotate mid-stream, the way logrotate does: rename the file, then signal.
    const bool warmed_up = wait_until([&] { return answered.load() >= 300; }, 30s);
    std::filesystem::rename(log_path, rotated_path);
    const int answered_at_rename = answered.load();
    gateway.process().signal(SIGUSR1);
    const bool reopened = gateway.process().wait_for_output("reopened", 5s);
    const bool kept_serving =
        wait_until([&] { return answered.load() >= answered_at_rename + 300; }, 30s);
    stop_clients();
    ASSERT_TRUE(warmed_up);
    ASSERT_TRUE(reopened) << gateway.process().stderr_text();
    ASSERT_TRUE(kept_serving);

    const auto total = status_by_id.size();
    ASSERT_TRUE(
        wait_until([&] { return count_lines(rotated_path) + count_lines(log_path) >= total; }, 10s))
        << "lines: " << count_lines(rotated_path) << " + " << count_lines(log_path) << " of "
        << total;
    const auto before = json_lines(read_file(rotated_path), "rotated file");
    const auto after = json_lines(read_file(log_path), "new file");
    EXPECT_FALSE(before.empty());
    EXPECT_FALSE(after.empty());
    std::map<std::string, int> lines_by_id;
    for (const auto* file : {&before, &after})
        for (const auto& line : *file) ++lines_by_id[line.value("request_id", "")];
    EXPECT_EQ(before.size() + after.size(), total);
    for (const auto& [id, status] : status_by_id) {
        EXPECT_EQ(status, 200) << id;
        EXPECT_EQ(lines_by_id[id], 1) << id << " is in " << lines_by_id[id] << " lines";
    }
    EXPECT_EQ(gateway.process().terminate(), 0);
}

TEST(Logs, ReopenOfAnUnwritablePathKeepsTheOldFile) {
    auto model = FakeModel::start("m1");
    TempDir logs;
    const auto dir = logs.file("logs");
    const auto log_path = dir + "/access.log";
    GatewayOptions options;
    options.access_log = log_path;
    auto gateway = RunningGateway::start(backend_and_route(model), options);
    ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body(), {{"x-request-id", "one"}}).status,
              200);
    // The directory is replaced by a file: the path cannot be opened again.
    std::filesystem::rename(dir, logs.file("old-logs"));
    logs.write("logs", "not a directory");
    gateway.process().signal(SIGUSR1);
    ASSERT_TRUE(gateway.process().wait_for_output("cannot reopen", 5s))
        << gateway.process().stderr_text();
    ASSERT_EQ(gateway.post("/v1/chat/completions", chat_body(), {{"x-request-id", "two"}}).status,
              200);
    const auto old_file = logs.file("old-logs/access.log");
    ASSERT_TRUE(wait_until([&] { return count_lines(old_file) >= 2; }, 5s));
    const auto lines = json_lines(read_file(old_file), "old file");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(gateway.process().terminate(), 0);
}

TEST(Logs, ApplicationLogIsJsonLinesOnStderr) {
    auto model = FakeModel::start("m1");
    // No authentication and no admin token: start-up warns about both.
    auto gateway = RunningGateway::start(backend_and_route(model));
    ASSERT_TRUE(gateway.process().wait_for_output("admin.token is not set", 5s));
    ASSERT_EQ(gateway.process().terminate(), 0);

    const auto lines = json_lines(gateway.process().stderr_text(), "stderr");
    ASSERT_GE(lines.size(), 4u) << gateway.process().stderr_text();
    std::set<std::string> levels;
    for (const auto& line : lines) {
        ASSERT_TRUE(line.is_object());
        ASSERT_TRUE(line["time"].is_string()) << line;
        ASSERT_TRUE(line["level"].is_string()) << line;
        ASSERT_TRUE(line["msg"].is_string()) << line;
        EXPECT_THAT(line["time"].get<std::string>(),
                    testing::MatchesRegex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"));
        levels.insert(line["level"].get<std::string>());
    }
    EXPECT_THAT(lines.front()["msg"].get<std::string>(), HasSubstr("listening on"));
    EXPECT_EQ(levels, (std::set<std::string>{"info", "warn"}));
    EXPECT_THAT(lines.back()["msg"].get<std::string>(), HasSubstr("stopped"));
}

TEST(Logs, AStartUpFailureIsOneJsonErrorLineWithoutTheSecret) {
    TempDir dir;
    // The password is in the Redis URL; the port is invalid, so the config fails to load.
    const auto path = dir.write(
        "bad.yaml", "server: { listen: \"127.0.0.1:" + std::to_string(free_port()) +
                        "\" }\nredis: { url: \"redis://:hunter2-secret@127.0.0.1:notaport/0\" }\n"
                        "backends: { b: { endpoints: [ { url: \"http://127.0.0.1:1\" } ] } }\n"
                        "routes: [ { name: all, backend: b } ]\n");
    std::string out, err;
    EXPECT_EQ(run_to_exit(LLMGW_BINARY, {"--config", path}, 5s, &out, &err), 1);
    const auto lines = json_lines(err, "stderr");
    ASSERT_EQ(lines.size(), 1u) << err;
    EXPECT_EQ(lines[0]["level"], "error");
    EXPECT_THAT(lines[0]["msg"].get<std::string>(), HasSubstr("bad.yaml:2"));
    EXPECT_THAT(err, testing::Not(HasSubstr("hunter2")));
}
