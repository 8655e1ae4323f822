// hiredis replies copied into Reply values that outlive the parser's buffers.
#include "connection.hpp"

namespace llmgw::redis::detail {
namespace {

Reply::Type type_of(int type) {
    switch (type) {
        case REDIS_REPLY_STRING:
            return Reply::Type::string;
        case REDIS_REPLY_STATUS:
            return Reply::Type::status;
        case REDIS_REPLY_ERROR:
            return Reply::Type::error;
        case REDIS_REPLY_INTEGER:
            return Reply::Type::integer;
        case REDIS_REPLY_ARRAY:
            return Reply::Type::array;
        default:
            return Reply::Type::nil;
    }
}

Reply copy_reply(const redisReply& r) {
    Reply out;
    out.type = type_of(r.type);
    if (out.type == Reply::Type::integer) out.integer = r.integer;
    if (r.str != nullptr) out.str.assign(r.str, r.len);
    if (out.type == Reply::Type::array) {
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i)
            out.elements.push_back(copy_reply(*r.element[i]));
    }
    return out;
}

}  // namespace

Result to_result(const redisReply& r) {
    if (r.type == REDIS_REPLY_ERROR)
        return Error{Error::Kind::server_error, std::string(r.str, r.len)};
    return copy_reply(r);
}

}  // namespace llmgw::redis::detail
