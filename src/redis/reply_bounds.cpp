// Counting wrappers around hiredis's reply object functions.
#include "reply_bounds.hpp"

#include <hiredis/hiredis.h>

namespace llmgw::redis::detail {
namespace {

// A bulk string's header and the two line ends: what a reply holds besides its payload.
constexpr std::size_t kFramingBytes = 64;

ReplyBounds& bounds_of(const redisReadTask* task) {
    return *static_cast<ReplyBounds*>(task->privdata);
}

}  // namespace

// hiredis keeps a pointer to the table: one immutable table for every connection, whose
// functions find their connection's counts through the task's privdata.
const redisReplyObjectFunctions ReplyBounds::counting_functions = {
    &ReplyBounds::create_string, &ReplyBounds::create_array, &ReplyBounds::create_integer,
    &ReplyBounds::create_nil, &freeReplyObject};

void ReplyBounds::attach(redisReader& reader) {
    defaults_ = reader.fn;
    bytes_ = elements_ = 0;
    exceeded_.clear();
    // hiredis never writes through fn; its field is simply not declared const.
    reader.fn = const_cast<redisReplyObjectFunctions*>(&counting_functions);
    reader.privdata = this;
}

bool ReplyBounds::check_buffer(const redisReader& reader) {
    if (reader.len - reader.pos <= max_bytes_ + kFramingBytes) return true;
    exceeded_ = "reply of more than " + std::to_string(max_bytes_) +
                " bytes still arriving (max_reply_bytes)";
    return false;
}

bool ReplyBounds::reply_in_progress(const redisReader& reader) {
    // Unparsed bytes, or a type byte already read (a reply's first object is not complete).
    return reader.len > reader.pos || (reader.ridx >= 0 && reader.rstack[0].type >= 0);
}

// A reply's first object has no parent: for an array it comes before its elements, for any
// other type it is the whole reply. Either way the counts start afresh there.
bool ReplyBounds::admit(const redisReadTask& task, std::size_t elements, std::size_t bytes) {
    if (task.parent == nullptr) {
        if (!awaited(task)) return false;
        bytes_ = elements_ = 0;
    }
    elements_ += elements;
    bytes_ += bytes;
    if (elements_ > max_elements_) {
        exceeded_ = "reply of " + std::to_string(elements_) +
                    " elements or more (max_reply_elements " + std::to_string(max_elements_) + ")";
        return false;
    }
    if (bytes_ > max_bytes_) {
        exceeded_ = "reply of " + std::to_string(bytes_) + " bytes or more (max_reply_bytes " +
                    std::to_string(max_bytes_) + ")";
        return false;
    }
    return true;
}

// The connection takes a command off its queue only once its reply is complete, so while a
// reply's first object is built, a waiting command is the one it answers.
bool ReplyBounds::awaited(const redisReadTask& task) {
    if (task.type == REDIS_REPLY_ERROR || awaited_()) return true;
    exceeded_ = "a reply nobody asked for (the server answered more often than it was asked)";
    return false;
}

// Returning null makes hiredis fail the connection ("out of memory"), with nothing allocated.
void* ReplyBounds::create_string(const redisReadTask* task, char* text, std::size_t length) {
    auto& self = bounds_of(task);
    if (!self.admit(*task, 0, length)) return nullptr;
    return self.defaults_->createString(task, text, length);
}

void* ReplyBounds::create_array(const redisReadTask* task, int elements) {
    auto& self = bounds_of(task);
    if (!self.admit(*task, static_cast<std::size_t>(elements), 0)) return nullptr;
    return self.defaults_->createArray(task, elements);
}

void* ReplyBounds::create_integer(const redisReadTask* task, long long value) {
    auto& self = bounds_of(task);
    if (!self.admit(*task, 0, 0)) return nullptr;
    return self.defaults_->createInteger(task, value);
}

void* ReplyBounds::create_nil(const redisReadTask* task) {
    auto& self = bounds_of(task);
    if (!self.admit(*task, 0, 0)) return nullptr;
    return self.defaults_->createNil(task);
}

}  // namespace llmgw::redis::detail
