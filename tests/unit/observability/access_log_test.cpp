// Access-log lines are valid JSON with the documented fields, whatever the client sent.
#include "llmgw/observability/access_log.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "llmgw/observability/request_id.hpp"

using namespace std::chrono_literals;
using namespace llmgw::observability;

TEST(AccessLine, HasTheDocumentedFields) {
    AccessRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'000'000'123));
    r.request_id = "abc";
    r.client = "127.0.0.1";
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.route = "chat";
    r.backend = "vllm";
    r.endpoint = "http://127.0.0.1:8000";
    r.status = 200;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.duration = 1500us;
    r.upstream_first_byte = 500us;
    r.stream = true;
    const auto line = nlohmann::json::parse(format_access_line(r));
    EXPECT_EQ(line["time"], "2025-11-24T16:00:00.123Z");
    EXPECT_EQ(line["request_id"], "abc");
    EXPECT_EQ(line["status"], 200);
    EXPECT_EQ(line["bytes_in"], 10);
    EXPECT_EQ(line["bytes_out"], 20);
    EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(line["upstream_first_byte_ms"].get<double>(), 0.5);
    EXPECT_EQ(line["stream"], true);
    EXPECT_EQ(line["route"], "chat");
    EXPECT_EQ(line["error"], "");
}

TEST(AccessLine, StaysValidJsonWithHostileInput) {
    AccessRecord r;
    r.path = std::string("/\"quote\\\n\x01\xff", 11);
    r.method = "GET";
    const auto line = format_access_line(r);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto parsed = nlohmann::json::parse(line);
    EXPECT_TRUE(parsed["upstream_first_byte_ms"].is_null());
}

TEST(RequestId, AcceptsSaneTokensOnly) {
    EXPECT_TRUE(is_sane_request_id("req-1_a.b:c"));
    EXPECT_FALSE(is_sane_request_id(""));
    EXPECT_FALSE(is_sane_request_id("has space"));
    EXPECT_FALSE(is_sane_request_id("new\nline"));
    EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
}

TEST(RequestId, GeneratesDistinctHexIds) {
    const auto a = generate_request_id();
    const auto b = generate_request_id();
    EXPECT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
    EXPECT_TRUE(is_sane_request_id(a));
    // Many ids: all distinct, lower-case hex, and every digit seen at every place (a place
    // left unwritten or a digit never made would show).
    std::set<std::string> ids;
    std::array<std::set<char>, 32> digits_at;
    for (int i = 0; i < 10000; ++i) {
        const auto id = generate_request_id();
        ASSERT_EQ(id.size(), 32u);
        ids.insert(id);
        for (std::size_t at = 0; at < id.size(); ++at) {
            ASSERT_TRUE(std::isxdigit(static_cast<unsigned char>(id[at])) && !std::isupper(id[at])) << id;
            digits_at[at].insert(id[at]);
        }
    }
    EXPECT_EQ(ids.size(), 10000u);
    for (const auto& seen : digits_at) EXPECT_EQ(seen.size(), 16u);
}

namespace {

std::vector<std::string> request_ids_in(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> ids;
    for (std::string line; std::getline(in, line);)
        ids.push_back(nlohmann::json::parse(line)["request_id"]);
    return ids;
}

// Lines are written by spdlog's background thread: wait for them, with a deadline.
bool wait_for_lines(const std::string& file, std::size_t count) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (request_ids_in(file).size() < count) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

}  // namespace

TEST(AccessLogFile, ReopenSendsLaterLinesToANewFileAtThePath) {
    char pattern[] = "/tmp/llmgw-access-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    const std::filesystem::path dir(pattern);
    const auto path = (dir / "sub" / "access.log").string();  // missing directories are created
    {
        AccessLog log(path);
        AccessRecord r;
        r.request_id = "before";
        log.write(r);
        std::filesystem::rename(path, path + ".1");
        r.request_id = "renamed";  // the open file was renamed: still the old file
        log.write(r);
        ASSERT_TRUE(wait_for_lines(path + ".1", 2));
        log.reopen();
        r.request_id = "after";
        log.write(r);
        ASSERT_TRUE(wait_for_lines(path, 1));
    }
    EXPECT_EQ(request_ids_in(path + ".1"), (std::vector<std::string>{"before", "renamed"}));
    EXPECT_EQ(request_ids_in(path), (std::vector<std::string>{"after"}));
    std::filesystem::remove_all(dir);
}

TEST(AccessLogFile, AnUnopenablePathFailsAtConstruction) {
    EXPECT_THROW(AccessLog("/proc/no-such-dir/access.log"), std::exception);
}
