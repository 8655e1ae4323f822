// llmgw-bench-client's alternate mode, bench/run.sh's concurrency-1 measurement: it is a
// measuring instrument, so what it reports is checked against what the servers saw.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "bench_client_binary.hpp"
#include "harness.hpp"
#include "support/ports.hpp"

using namespace std::chrono_literals;
using namespace llmgw::testing;

namespace {

// The value of `key=` in a report line (-1 when missing).
long field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    return at == std::string::npos ? -1 : std::stol(line.substr(at + key.size() + 2));
}

// The report's lines by their kind, round and target: "ROUND 1 a", "ALL 0 b".
std::map<std::string, std::string> report_lines(const std::string& out) {
    std::map<std::string, std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        const auto name_at = line.find(" name=");
        if (name_at == std::string::npos) continue;
        const auto name = line.substr(name_at + 6, line.find(' ', name_at + 6) - name_at - 6);
        lines[line.substr(0, line.find(' ')) + " " + std::to_string(field(line, "round")) + " " +
              name] = line;
    }
    return lines;
}

std::string target(const std::string& name, std::uint16_t port) {
    return name + "=127.0.0.1:" + std::to_string(port);
}

}  // namespace

// Two targets taking turns: each round reports both, with as many requests each (one at a
// time, in turn: at most one apart), and the totals are what each server answered.
TEST(BenchClientAlternate, SendsOneRequestAtATimeToEachTargetInTurnAndCountsWhatEachAnswered) {
    auto a = FakeModel::start("alternate-a");
    auto b = FakeModel::start("alternate-b");
    std::string out, err;
    const auto status = run_to_exit(
        bench_client_binary(),
        {"alternate", "--target", target("a", a.port()), "--target", target("b", b.port()),
         "--body", chat_body("fake-model").dump(), "--duration", "2", "--rounds", "2"},
        30s, &out, &err);
    ASSERT_EQ(status, 0) << out << err;
    const auto lines = report_lines(out);
    for (const char* name : {"a", "b"}) {
        long rounds_total = 0;
        for (const char* round : {"1", "2"}) {
            const auto key = std::string("ROUND ") + round + " " + name;
            ASSERT_TRUE(lines.contains(key)) << key << " in\n" << out;
            const auto& line = lines.at(key);
            EXPECT_GT(field(line, "requests"), 10) << line;
            EXPECT_LE(field(line, "p50_us"), field(line, "p99_us")) << line;
            EXPECT_EQ(field(line, "non2xx"), 0) << line;
            const auto other_key = std::string("ROUND ") + round + " " + (*name == 'a' ? "b" : "a");
            const auto& other = lines.at(other_key);
            EXPECT_LE(std::abs(field(line, "requests") - field(other, "requests")), 1)
                << line << "\n" << other;
            rounds_total += field(line, "requests");
        }
        ASSERT_TRUE(lines.contains(std::string("ALL 0 ") + name)) << out;
        EXPECT_EQ(field(lines.at(std::string("ALL 0 ") + name), "requests"), rounds_total);
        const auto& server = *name == 'a' ? a : b;
        EXPECT_EQ(server.stats()["requests_total"].get<long>(), rounds_total) << name;
    }
}

// A target that cannot be reached fails the run, named, rather than measuring the others alone.
TEST(BenchClientAlternate, ATargetThatRefusesTheConnectionFailsTheRunAndIsNamed) {
    auto a = FakeModel::start("alternate-refused");
    std::string out, err;
    const auto status = run_to_exit(
        bench_client_binary(),
        {"alternate", "--target", target("up", a.port()), "--target", target("down", free_port()),
         "--body", chat_body("fake-model").dump(), "--duration", "1"},
        30s, &out, &err);
    EXPECT_EQ(status, 1) << out << err;
    EXPECT_NE(err.find("down: cannot connect"), std::string::npos) << err;
    EXPECT_EQ(out.find("ALL "), std::string::npos) << out;
}
