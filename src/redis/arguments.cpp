// Arguments: RESP bulk strings written straight into one buffer.
#include "llmgw/redis/arguments.hpp"

#include <charconv>

namespace llmgw::redis {

void Arguments::add_size(std::size_t size) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, size).ptr;
    wire_ += '$';
    wire_.append(digits, end);
    wire_ += "\r\n";
    ++count_;
}

void Arguments::add(std::string_view text) {
    add_size(text.size());
    wire_ += text;
    wire_ += "\r\n";
}

void Arguments::add(std::uint64_t number) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    add(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void Arguments::add_joined(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    add_size(size);
    for (const auto part : parts) wire_ += part;
    wire_ += "\r\n";
}

void Arguments::append(const Arguments& more) {
    wire_ += more.wire_;
    count_ += more.count_;
}

void Arguments::clear() {
    wire_.clear();
    count_ = 0;
}

std::size_t Arguments::read_size(std::string_view& rest) {
    std::size_t size = 0;
    const auto line_end = rest.find("\r\n");
    std::from_chars(rest.data() + 1, rest.data() + line_end, size);
    rest.remove_prefix(line_end + 2);
    return size;
}

}  // namespace llmgw::redis
