// A command's arguments in the form they go on the wire (RESP bulk strings), written as they
// are added: one buffer for all, no string per argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmgw::redis {

class Arguments {
public:
    void add(std::string_view text);
    void add(std::uint64_t number);  // in decimal
    // One argument made of `parts` joined.
    void add_joined(std::initializer_list<std::string_view> parts);
    void append(const Arguments& more);
    void clear();

    std::size_t count() const { return count_; }
    bool empty() const { return count_ == 0; }
    std::string_view wire() const { return wire_; }

    // Calls `visit(std::string_view)` with each argument, in order.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        std::string_view rest = wire_;
        for (std::size_t i = 0; i < count_; ++i) {
            const auto size = read_size(rest);
            visit(rest.substr(0, size));
            rest.remove_prefix(size + 2);
        }
    }

private:
    void add_size(std::size_t size);
    // Reads "$<size>\r\n" off the front of `rest`; returns the size.
    static std::size_t read_size(std::string_view& rest);

    std::string wire_;
    std::size_t count_ = 0;
};

}  // namespace llmgw::redis
