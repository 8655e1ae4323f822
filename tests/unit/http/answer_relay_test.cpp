// The response side without sockets: the relay assembles the head once, runs the steps in
// order on the head, each piece and the end, and they see the same thing whether the answer
// comes from an upstream or from the cache.
#include "llmgw/http/answer_relay.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/field.hpp>
#include <string>
#include <vector>

#include "llmgw/cache/cache_steps.hpp"
#include "llmgw/limits/rate_limit_step.hpp"
#include "llmgw/usage/usage_step.hpp"
#include "support/recorded_head.hpp"

namespace net = boost::asio;
using namespace llmgw;
using http::AnswerSink;

namespace {

// What reached "the client": the head as sent, the body pieces, and how it ended. With `waits`
// set, every step waits for the connection (its at-once form answers nullopt) and happens in
// the flush that follows, as on a client that reads slowly.
class RecordingSink final : public AnswerSink {
public:
    std::optional<bool> head_now(http::ResponseHead& head, std::string_view lines, Framing framing,
                                 HeadTiming) override {
        this->head = llmgw::testing::recorded_head(head, lines);  // taken now, as promised
        this->framing = framing;
        head_pending = true;
        return step([] {});
    }
    std::optional<bool> body_now(std::string_view data) override {
        return step([this, data] {  // the view must still hold at the flush
            head_pending = false;
            pieces.emplace_back(data);
        });
    }
    std::optional<bool> finish_now() override {
        return step([this] { finished = true; });
    }
    http::Task<bool> flush() override {
        EXPECT_TRUE(staged) << "a flush without a step waiting";
        if (staged) staged();
        staged = nullptr;
        ++flushes;
        co_return !gone;
    }
    void abort() override { aborted = true; }
    bool take_back_head() override {
        if (!head_pending) return false;
        head_pending = false;
        return true;
    }
    bool chunked() const override { return framing == Framing::chunked; }

    std::optional<bool> step(std::function<void()> action) {
        if (!waits) {
            action();
            return !gone;
        }
        staged = std::move(action);
        return std::nullopt;
    }

    std::string body() const {
        std::string all;
        for (const auto& piece : pieces) all += piece;
        return all;
    }

    http::ResponseHead head;
    Framing framing = Framing::none;
    std::vector<std::string> pieces;
    bool head_pending = false, finished = false, aborted = false, gone = false;
    bool waits = false;
    int flushes = 0;
    std::function<void()> staged;
};

void run(std::function<http::Task<void>()> body) {
    net::io_context io;
    net::co_spawn(io, body(), net::detached);
    io.run();
}

const std::string usage_event =
    R"(data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}})"
    "\n\n";
const std::string token_event = R"(data: {"choices":[{"delta":{"content":"hi"}}]})"
                                "\n\n";

struct Steps {
    limits::RateLimitHeadersStep rate_limits;
    cache::CacheStatusStep cache_status;
    usage::UsageStep usage;
    cache::AnswerCopyStep copy{1024};
    // Requests at 9 of 10 left, and a cache miss.
    void meter_and_miss() {
        limits::HeaderFigures figures;
        figures.requests = {true, 10, 9, 6};
        rate_limits.set(figures);
        cache_status.set("MISS");
    }
    http::ResponsePhases phases() {
        http::ResponsePhases p;
        p.add(rate_limits);
        p.add(cache_status);
        p.add(usage);
        p.add(copy);
        return p;
    }
};

// Relays an upstream-like event stream in `pieces`; `cut` breaks it after them.
void relay_stream(RecordingSink& sink, Steps& steps, std::vector<std::string> pieces,
                  bool cut = false) {
    const auto phases = steps.phases();
    run([&]() -> http::Task<void> {
        http::AnswerRelay relay(sink, phases, "req-1");
        http::ResponseHead fields;
        fields.result(200);
        fields.set(http::beast::http::field::content_type, "text/event-stream");
        http::AnswerHead head{fields, true, true, false};
        if (!co_await relay.send_head(head, std::nullopt, AnswerSink::HeadTiming::now)) co_return;
        for (const auto& piece : pieces)
            if (!co_await relay.send_body(piece)) co_return;
        if (cut)
            co_await relay.cut("data: {\"error\":{}}\n\n");
        else
            co_await relay.finish();
    });
}

}  // namespace

TEST(AnswerRelay, AssemblesTheHeadOnceWithTheRequestIdAndEveryStepsHeaders) {
    RecordingSink sink;
    Steps steps;
    steps.meter_and_miss();
    relay_stream(sink, steps, {token_event});
    EXPECT_EQ(sink.head.result_int(), 200u);
    EXPECT_EQ(sink.head["x-request-id"], "req-1");
    EXPECT_EQ(sink.head["x-ratelimit-limit-requests"], "10");
    EXPECT_EQ(sink.head["x-ratelimit-remaining-requests"], "9");
    EXPECT_EQ(sink.head["x-ratelimit-reset-requests"], "6s");
    EXPECT_EQ(sink.head.count("ratelimit-limit"), 0u);
    EXPECT_EQ(sink.head["x-cache"], "MISS");
    EXPECT_EQ(sink.framing, AnswerSink::Framing::chunked);
    EXPECT_TRUE(sink.finished);
}

TEST(AnswerRelay, TheUpstreamsOwnHeadersOfTheNamesTheGatewayWritesGiveWayAndNoOthers) {
    RecordingSink sink;
    Steps steps;
    steps.meter_and_miss();
    const auto phases = steps.phases();
    run([&]() -> http::Task<void> {
        http::AnswerRelay relay(sink, phases, "req-3");
        http::ResponseHead fields;
        fields.result(200);
        // What another gateway or a hosted API in front of the model might send.
        fields.insert("X-Request-Id", "upstream-id");
        fields.insert("X-RateLimit-Remaining-Requests", "4999");
        fields.insert("x-ratelimit-remaining-tokens", "80000");  // a unit llmgw does not report
        fields.insert("X-Cache", "HIT from cdn");
        fields.insert("x-upstream-note", "kept");
        http::AnswerHead head{fields, false, false, false};
        co_await relay.send_head(head, 2, AnswerSink::HeadTiming::with_first_piece);
        co_await relay.send_body("{}");
        co_await relay.finish();
    });
    EXPECT_EQ(sink.head.count("x-request-id"), 1u);
    EXPECT_EQ(sink.head["x-request-id"], "req-3");
    EXPECT_EQ(sink.head.count("x-ratelimit-remaining-requests"), 1u);
    EXPECT_EQ(sink.head["x-ratelimit-remaining-requests"], "9");
    EXPECT_EQ(sink.head["x-ratelimit-remaining-tokens"], "80000");
    EXPECT_EQ(sink.head.count("x-cache"), 1u);
    EXPECT_EQ(sink.head["x-cache"], "MISS");
    EXPECT_EQ(sink.head["x-upstream-note"], "kept");
    EXPECT_EQ(sink.head["content-length"], "2");
}

TEST(AnswerRelay, TheUsageStepReadsUsageAndHidesTheEventTheGatewayAskedFor) {
    RecordingSink sink;
    Steps steps;
    steps.usage.hide_usage_only_event();
    // The usage event split across two reads, as a network may deliver it.
    const auto half = usage_event.size() / 2;
    relay_stream(sink, steps,
                 {token_event, usage_event.substr(0, half), usage_event.substr(half),
                  "data: [DONE]\n\n"});
    EXPECT_EQ(sink.body(), token_event + "data: [DONE]\n\n");
    ASSERT_TRUE(steps.usage.scanner());
    ASSERT_TRUE(steps.usage.scanner()->usage());
    EXPECT_EQ(steps.usage.scanner()->usage()->prompt_tokens, 7u);
    EXPECT_EQ(steps.usage.scanner()->usage()->completion_tokens, 3u);
    // The copy kept what the client got, so a replay is what the client saw.
    const auto answer = steps.copy.take_answer();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, sink.body());
    EXPECT_TRUE(answer->streamed);
    for (const auto& [name, value] : answer->headers) {
        EXPECT_NE(name, "x-request-id");
        EXPECT_NE(name, "x-cache");
        EXPECT_NE(name, "x-ratelimit-remaining-requests");
    }
}

TEST(AnswerRelay, ACutAnswerEndsWithTheErrorEventAndIsNeverStored) {
    RecordingSink sink;
    Steps steps;
    relay_stream(sink, steps, {token_event}, /*cut=*/true);
    EXPECT_TRUE(sink.aborted);
    EXPECT_FALSE(sink.finished);
    EXPECT_EQ(sink.pieces.back(), "data: {\"error\":{}}\n\n");
    EXPECT_FALSE(steps.copy.take_answer());
}

TEST(AnswerRelay, AnAnswerThatBreaksBeforeAnyByteLeftIsTakenBackForAnErrorAnswer) {
    RecordingSink sink;
    Steps steps;
    relay_stream(sink, steps, {}, /*cut=*/true);
    EXPECT_FALSE(sink.aborted);
    EXPECT_TRUE(sink.pieces.empty());
    EXPECT_FALSE(steps.copy.take_answer());
}

TEST(AnswerRelay, AClientThatLeavesEndsTheAnswerAndNothingIsStored) {
    RecordingSink sink;
    sink.gone = true;
    Steps steps;
    relay_stream(sink, steps, {token_event});
    EXPECT_FALSE(steps.copy.take_answer());
}

TEST(AnswerRelay, AReplayGoesThroughTheSameStepsWithItsLengthAndNoTokenCount) {
    RecordingSink sink;
    Steps steps;
    steps.cache_status.set("HIT", 12);
    const auto phases = steps.phases();
    const std::string body = R"({"id":"x","usage":{"prompt_tokens":1,"completion_tokens":1}})";
    run([&]() -> http::Task<void> {
        http::AnswerRelay relay(sink, phases, "req-2");
        http::ResponseHead fields;
        fields.result(200);
        http::AnswerHead head{fields, false, false, /*replayed=*/true};
        co_await relay.send_head(head, body.size(), AnswerSink::HeadTiming::with_first_piece);
        co_await relay.send_body(body);
        co_await relay.finish();
    });
    EXPECT_EQ(sink.head["x-cache"], "HIT");
    EXPECT_EQ(sink.head["age"], "12");
    EXPECT_EQ(sink.head["content-length"], std::to_string(body.size()));
    EXPECT_EQ(sink.body(), body);
    EXPECT_FALSE(steps.usage.scanner());  // a hit costs no model tokens
    EXPECT_FALSE(steps.copy.take_answer());  // nor is it stored again
}

// A client that reads slowly: every step waits for its flush, the pieces a step held back
// until the end included, and the answer comes out the same, ended once.
TEST(AnswerRelay, StepsThatWaitForTheClientGiveTheSameAnswer) {
    for (const bool gone : {false, true}) {
        RecordingSink quick;
        RecordingSink slow;
        slow.waits = true;
        quick.gone = slow.gone = gone;
        Steps quick_steps;
        Steps slow_steps;
        quick_steps.usage.hide_usage_only_event();
        slow_steps.usage.hide_usage_only_event();
        // The usage-only event is dropped; an event without its blank line is held back until
        // the end of the body, and goes then (finish's two steps: that piece, then the framing).
        const std::vector<std::string> pieces = {token_event, usage_event, "data: [DONE]"};
        relay_stream(quick, quick_steps, pieces);
        relay_stream(slow, slow_steps, pieces);
        EXPECT_EQ(slow.body(), quick.body()) << gone;
        if (!gone) {
            EXPECT_EQ(slow.body(), token_event + "data: [DONE]");
        }
        EXPECT_EQ(slow.finished, quick.finished) << gone;
        EXPECT_GT(slow.flushes, 0);
        EXPECT_EQ(quick.flushes, 0);
        EXPECT_EQ(slow.head["x-request-id"], "req-1");
        const auto slow_answer = slow_steps.copy.take_answer();
        const auto quick_answer = quick_steps.copy.take_answer();
        EXPECT_EQ(slow_answer != nullptr, !gone);
        EXPECT_EQ(quick_answer != nullptr, !gone);
        if (slow_answer && quick_answer) {
            EXPECT_EQ(slow_answer->body, quick_answer->body);
        }
    }
}
