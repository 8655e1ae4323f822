// One attempt at one endpoint: a connection (pooled or new), the request written, the answer's
// head read. Its body is left on the connection for the relay (relay.hpp). Private to upstream/.
#pragma once

#include <memory>
#include <optional>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/hang_up.hpp"
#include "llmgw/upstream/answer_parser.hpp"
#include "llmgw/upstream/connection_pool.hpp"
#include "llmgw/upstream/failure.hpp"

namespace llmgw::upstream {

using Clock = std::chrono::steady_clock;

// Filled in place by attempt_head (the parser is neither copied nor moved, nor allocated
// apart: it lives in the forward's own frame).
struct AttemptHead {
    std::unique_ptr<UpstreamConnection> connection;
    std::optional<AnswerParser> parser;  // the head read, the body to come
    Failure failure = Failure::none;      // when there is no head
    bool resent = false;                   // written again on a fresh connection by itself
    Clock::duration first_byte{};          // from the attempt's start to the head
    Clock::time_point started{};           // before the connection was taken or made
    Clock::time_point head_read{};         // when the head had arrived
};

struct AttemptLimits {
    const config::BackendTimeouts& timeouts;
    Clock::time_point total_deadline;
    // What is left of `limit` before the total deadline (never negative), from `now`.
    Clock::duration remaining(Clock::duration limit, Clock::time_point now = Clock::now()) const;
};

// Sends `request` (with `head_lines`, more header lines after its fields) to `endpoint`; while
// the client stays (`hang_up`), the connection in use is closed through its slot when the
// client leaves.
http::Task<void> attempt_head(ConnectionPool& pool, http::Request& request,
                              std::string_view head_lines, const config::Endpoint& endpoint, tls::ClientContext* tls,
                              const AttemptLimits& limits, http::HangUp& hang_up,
                              AttemptHead& head);

}  // namespace llmgw::upstream
