// What a Redis call gives back: an owned copy of the reply, or an Error saying why there is none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmgw::redis {

// One RESP value, copied out of hiredis so it outlives the connection's buffers.
struct Reply {
    enum class Type : uint8_t { nil, integer, string, status, error, array };

    Type type = Type::nil;
    long long integer = 0;
    std::string str;              // string, status ("OK") and error text
    std::vector<Reply> elements;  // array

    bool is_nil() const { return type == Type::nil; }
    bool is_integer() const { return type == Type::integer; }
    bool is_string() const { return type == Type::string; }
    bool is_status() const { return type == Type::status; }
    bool is_error() const { return type == Type::error; }
    bool is_array() const { return type == Type::array; }
};

struct Error {
    enum class Kind : uint8_t {
        timeout,        // no reply within Client::Options::timeout
        disconnected,   // the connection was lost (or the client stopped) while waiting
        not_connected,  // no usable connection at call time: the call was not sent
        server_error,   // Redis answered with an error reply (message is its text)
        protocol,       // the reply could not be parsed, or had an unexpected shape
    };
    Kind kind;
    std::string message;
};

std::string_view to_string(Error::Kind kind);

// Expected-like: holds a Reply or an Error. Top-level error replies are Errors
// (server_error); error elements nested in an array stay Replies.
class Result {
public:
    Result() = default;  // a nil Reply, as std::expected<Reply, Error> would hold
    Result(Reply reply) : value_(std::move(reply)) {}
    Result(Error error) : value_(std::move(error)) {}

    bool has_value() const { return value_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    const Reply& value() const& { return std::get<Reply>(value_); }
    Reply& value() & { return std::get<Reply>(value_); }
    const Reply& operator*() const& { return value(); }
    const Reply* operator->() const { return &value(); }
    const Error& error() const { return std::get<Error>(value_); }

private:
    std::variant<Reply, Error> value_;
};

}  // namespace llmgw::redis
