// Bounds on each Redis reply while hiredis parses it: bytes and elements, checked before
// hiredis allocates (hiredis 0.14 bounds the nesting depth itself, at 7); and no reply at all
// while no command waits for one.
#pragma once

#include <hiredis/read.h>

#include <cstddef>
#include <functional>
#include <string>

namespace llmgw::redis::detail {

// One per connection. Wraps the reader's object functions so that each reply's elements (the
// counts its array headers declare) and string bytes are added up as hiredis builds it; the
// first object over a bound is refused, and hiredis then fails the connection. A bulk string
// or line still arriving is not built yet: check_buffer() bounds it after each read.
// A reply that no command waits for is refused the same way (an error reply passes: it is the
// server's own word on why it closes the connection, and the caller reports it).
class ReplyBounds {
public:
    // `awaited` tells whether a command waits for a reply (asked as each reply begins).
    ReplyBounds(std::size_t max_bytes, std::size_t max_elements, std::function<bool()> awaited)
        : max_bytes_(max_bytes), max_elements_(max_elements), awaited_(std::move(awaited)) {}
    ReplyBounds(const ReplyBounds&) = delete;
    ReplyBounds& operator=(const ReplyBounds&) = delete;

    // Starts counting on a new connection's reader; *this must outlive the reader's parsing.
    void attach(redisReader& reader);
    // After a read: false (and exceeded() says why) when the part of a reply not yet parsed
    // is already over max_bytes.
    bool check_buffer(const redisReader& reader);
    // The bound a reply broke (its size, or one reply per command), as a sentence for errors
    // and logs; empty while none did.
    const std::string& exceeded() const { return exceeded_; }

    // True while a reply has begun to arrive and is not complete.
    static bool reply_in_progress(const redisReader& reader);

private:
    static void* create_string(const redisReadTask* task, char* text, std::size_t length);
    static void* create_array(const redisReadTask* task, int elements);
    static void* create_integer(const redisReadTask* task, long long value);
    static void* create_nil(const redisReadTask* task);
    bool admit(const redisReadTask& task, std::size_t elements, std::size_t bytes);
    bool awaited(const redisReadTask& task);

    static const redisReplyObjectFunctions counting_functions;

    std::size_t max_bytes_;
    std::size_t max_elements_;
    std::function<bool()> awaited_;
    const redisReplyObjectFunctions* defaults_ = nullptr;  // hiredis's own, which build
    std::size_t bytes_ = 0;                                // of the reply being parsed
    std::size_t elements_ = 0;
    std::string exceeded_;
};

}  // namespace llmgw::redis::detail
