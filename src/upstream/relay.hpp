// The relay loop of an upstream answer: each read's bytes reach the client before the next
// read, so server-sent events keep their pacing. Private to upstream/.
#pragma once

#include "attempt.hpp"
#include "llmgw/http/answer_relay.hpp"

namespace llmgw::upstream {

class EndpointSlot;

// Relays the body of the answer whose head `attempt` read, through `relay`, to its end.
// Failure::none when it all reached the client; client_gone; or how the upstream broke
// (reset, idle_timeout, total_timeout), the answer then not finished.
// Adds to `own_time` the time from each upstream read to its relay done. `now` is the caller's
// last clock read, with nothing waited for since; on return, when the relay ended (a clock
// read each read's wait makes, and each relay's; none more).
// `slot` (when set) goes back once the upstream's answer is all read, before its last bytes
// are written to the client: the endpoint is done with the request, and a client that reads
// slowly (or sends its next request at once) must not see it counted as load.
http::Task<Failure> relay_body(AttemptHead& attempt, http::AnswerRelay& relay,
                               const AttemptLimits& limits, http::HangUp& hang_up,
                               EndpointSlot* slot, Clock::duration& own_time,
                               Clock::time_point& now);

}  // namespace llmgw::upstream
