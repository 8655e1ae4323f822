// The Prometheus text format: names, labels with escapes, special values, bad lines skipped.
#include "llmgw/upstream/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using llmgw::upstream::label_value;
using llmgw::upstream::PrometheusSample;
using llmgw::upstream::read_prometheus_text;

namespace {
struct Seen {
    std::string name;
    std::string labels;
    double value;
};

std::vector<Seen> read(std::string_view text) {
    std::vector<Seen> seen;
    read_prometheus_text(text, [&](const PrometheusSample& s) {
        seen.push_back({std::string(s.name), std::string(s.labels), s.value});
    });
    return seen;
}
}  // namespace

TEST(PrometheusText, ReadsSamplesAndSkipsComments) {
    const auto seen = read(
        "# HELP vllm:num_requests_waiting Number of requests waiting.\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        "vllm:num_requests_waiting{model_name=\"m\"} 7.0\n"
        "\n"
        "plain_metric 3 1700000000000\r\n");
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].name, "vllm:num_requests_waiting");
    EXPECT_EQ(seen[0].labels, "model_name=\"m\"");
    EXPECT_EQ(seen[0].value, 7.0);
    EXPECT_EQ(seen[1].name, "plain_metric");
    EXPECT_EQ(seen[1].value, 3.0);
}

TEST(PrometheusText, SkipsMalformedLinesButKeepsTheRest) {
    const auto seen = read(
        "good 1\n"
        "broken{label=\"never closed} 2\n"
        "novalue\n"
        "bad_value abc\n"
        "{nolabelname} 4\n"
        "also_good 5e-1\n");
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].name, "good");
    EXPECT_EQ(seen[1].value, 0.5);
}

TEST(PrometheusText, ReadsSpecialValues) {
    const auto seen = read("a NaN\nb +Inf\nc -Inf\n");
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_TRUE(std::isnan(seen[0].value));
    EXPECT_TRUE(std::isinf(seen[1].value));
    EXPECT_LT(seen[2].value, 0);
}

TEST(PrometheusText, LabelValuesAreUnescaped) {
    const std::string_view labels = R"(a="x,y",running_lora_adapters="one, two",q="say \"hi\"\\n")";
    EXPECT_EQ(label_value(labels, "a"), "x,y");
    EXPECT_EQ(label_value(labels, "running_lora_adapters"), "one, two");
    EXPECT_EQ(label_value(labels, "q"), "say \"hi\"\\n");
    EXPECT_FALSE(label_value(labels, "missing"));
    EXPECT_FALSE(label_value("a=unquoted", "a"));
}

TEST(PrometheusText, BracesInsideLabelValuesDoNotEndTheLabels) {
    const auto seen = read("m{path=\"/a}b\"} 9\n");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(label_value(seen[0].labels, "path"), "/a}b");
}
