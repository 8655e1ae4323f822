// One read of an upstream answer, by a deadline.
#pragma once

#include <chrono>
#include <cstddef>

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
// under its timeouts. A deadline that passes ends the read with beast::error::timeout and
// closes the connection; a reset the read could not see (it came in the same readiness event
// as the last bytes) ends it with connection_reset at the deadline.
http::Task<AnswerRead> read_answer(UpstreamConnection& connection, http::net::mutable_buffer buffer,
                                   std::chrono::steady_clock::time_point deadline);

}  // namespace llmgw::upstream
