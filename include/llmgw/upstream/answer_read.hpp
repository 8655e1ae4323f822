// One read of an upstream answer, by a deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <tuple>

#include "llmgw/http/beast.hpp"
#include "llmgw/upstream/connection_pool.hpp"

namespace llmgw::upstream {

// What one read of an answer got.
struct AnswerRead {
    boost::system::error_code ec;
    std::size_t bytes = 0;
};

// Reads some of the answer into `buffer`, by `deadline`: over plain TCP a draining read
// (draining_read.hpp) under the connection's own deadline, over TLS a read of the TLS stream
// under its timeouts. Awaited, then handed to answer_read_result:
//
//     const auto raw = co_await read_answer(connection, buffer, deadline);
//     const auto [ec, n] = answer_read_result(connection, raw);
//
// The read is the stream's own operation, not a coroutine of its own: a frame less per read
// (one per answer at least, and every read of a stream).
http::Task<std::tuple<boost::system::error_code, std::size_t>> read_answer(
    UpstreamConnection& connection, http::net::mutable_buffer buffer,
    std::chrono::steady_clock::time_point deadline);

// What the read ended with. A deadline that passed ends it with beast::error::timeout and
// closes the connection; a reset the read could not see (it came in the same readiness event
// as the last bytes) ends it with connection_reset at the deadline.
AnswerRead answer_read_result(UpstreamConnection& connection,
                              const std::tuple<boost::system::error_code, std::size_t>& read);

}  // namespace llmgw::upstream
