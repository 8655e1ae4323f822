// The protobuf walk of span_count.hpp: only the outer three messages are read.
#include "span_count.hpp"

#include <cstdint>

namespace otlp_sink {

namespace {

// A message's fields in turn; the length-delimited ones reported, the others stepped over.
class Fields {
public:
    Fields(std::string_view body, std::size_t begin, std::size_t end)
        : body_(body), at_(begin), end_(end) {}

    // The next length-delimited field: its number and [begin, end); false at the message's
    // end or when the message is malformed (then bad() says so).
    bool next(std::uint64_t& number, std::size_t& begin, std::size_t& end) {
        while (at_ < end_) {
            std::uint64_t key = 0;
            if (!varint(key)) return fail();
            switch (key & 7) {
                case 2: {
                    std::uint64_t size = 0;
                    if (!varint(size) || size > end_ - at_) return fail();
                    number = key >> 3;
                    begin = at_;
                    end = at_ + size;
                    at_ = end;
                    return true;
                }
                case 0: {
                    std::uint64_t ignored = 0;
                    if (!varint(ignored)) return fail();
                    break;
                }
                case 1:
                    if (end_ - at_ < 8) return fail();
                    at_ += 8;
                    break;
                case 5:
                    if (end_ - at_ < 4) return fail();
                    at_ += 4;
                    break;
                default:
                    return fail();
            }
        }
        return false;
    }
    bool bad() const { return bad_; }

private:
    bool varint(std::uint64_t& value) {
        value = 0;
        for (unsigned shift = 0; shift <= 63; shift += 7) {
            if (at_ >= end_) return false;
            const auto byte = static_cast<unsigned char>(body_[at_++]);
            value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if (byte < 0x80) return true;
        }
        return false;
    }
    bool fail() {
        bad_ = true;
        return false;
    }

    std::string_view body_;
    std::size_t at_;
    std::size_t end_;
    bool bad_ = false;
};

}  // namespace

std::optional<std::size_t> count_spans(std::string_view body) {
    std::size_t spans = 0;
    std::uint64_t number = 0;
    std::size_t begin = 0, end = 0;
    Fields request(body, 0, body.size());
    while (request.next(number, begin, end)) {
        if (number != 1) continue;
        Fields resource_spans(body, begin, end);
        while (resource_spans.next(number, begin, end)) {
            if (number != 2) continue;
            Fields scope_spans(body, begin, end);
            while (scope_spans.next(number, begin, end))
                if (number == 2) ++spans;
            if (scope_spans.bad()) return std::nullopt;
        }
        if (resource_spans.bad()) return std::nullopt;
    }
    if (request.bad()) return std::nullopt;
    return spans;
}

}  // namespace otlp_sink
