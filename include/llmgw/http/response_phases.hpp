// The response side of the pipeline: every step that needs the answer (rate-limit headers,
// x-cache, usage, the cache copy, later tracing) sees it in three phases, called in order by one
// relay (AnswerRelay) whether the answer comes from an upstream or from the cache.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

#include "llmgw/headers/header_names.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::http {

// Appends one header line, "name: value\r\n": one growth check and four copies (four appends,
// each checking capacity, cost twice that).
inline void append_field_line(std::string& lines, std::string_view name, std::string_view value) {
    const auto at = lines.size();
    lines.resize(at + name.size() + value.size() + 4);
    char* out = lines.data() + at;
    out = std::copy(name.begin(), name.end(), out);
    *out++ = ':';
    *out++ = ' ';
    out = std::copy(value.begin(), value.end(), out);
    *out++ = '\r';
    *out = '\n';
}

// Header lines as text, "name: value\r\n" each (as AnswerHead::lines holds them): calls
// `each(name, value)` for every line.
template <typename Each>
void for_each_field_line(std::string_view lines, Each&& each) {
    while (!lines.empty()) {
        const auto eol = lines.find("\r\n");
        const auto line = lines.substr(0, eol);
        const auto colon = std::min(line.find(':'), line.size());
        auto value = line.substr(std::min(colon + 1, line.size()));
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        each(line.substr(0, colon), value);
        lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    }
}

// The head of an answer before it is sent: its status and end-to-end headers, and how its
// body will travel. Steps may add or change headers; framing headers are set after them.
struct AnswerHead {
    ResponseHead& fields;
    bool event_stream = false;  // text/event-stream
    bool chunked = false;       // relayed piece by piece, its length unknown
    bool replayed = false;      // from the response cache
    // Headers as they go on the wire ("name: value\r\n" each), after the fields: written as
    // text, not inserted into the fields' tree (an allocation, a name lookup and a tree
    // insertion each; nine rate-limit headers cost more than the rest of the head). An
    // upstream's answer brings its own end-to-end headers here, first (`upstream_size` bytes);
    // the gateway's follow.
    std::string lines = {};
    std::size_t upstream_size = 0;

    // Adds a header the gateway owns; `replace` first drops the fields' own of that name (an
    // upstream's x-request-id, say). Names (lower case) and values are the gateway's: no CR or LF.
    void add(std::string_view name, std::string_view value) {
        const auto size = lines.size() + name.size() + value.size() + 4;
        if (lines.capacity() < size) lines.reserve(size + 384);  // room for the lines to come
        append_field_line(lines, name, value);
    }
    void replace(std::string_view lower_name, std::string_view value) {
        drop_fields([&](std::string_view field) { return headers::equals_lower(field, lower_name); });
        add(lower_name, value);
    }
    // Erases every header of the answer's own whose name `matches` says: in the fields and in
    // the upstream's lines (one pass each; a head has a few). The gateway's lines, and a
    // replay's (stored without per-answer headers), are not looked at.
    template <typename Matches>
    void drop_fields(Matches&& matches) {
        for (auto it = fields.begin(); it != fields.end();)
            it = matches(std::string_view(it->name_string())) ? fields.erase(it) : std::next(it);
        for (std::size_t at = 0; at < upstream_size;) {
            const auto eol = lines.find("\r\n", at);
            const auto end = eol == std::string::npos ? lines.size() : eol + 2;
            const auto colon = std::min(lines.find(':', at), end);
            if (!matches(std::string_view(lines).substr(at, colon - at))) {
                at = end;
                continue;
            }
            upstream_size -= end - at;
            lines.erase(at, end - at);
        }
    }
    // The upstream's own end-to-end headers: `each(name, value)`.
    template <typename Each>
    void for_each_upstream_field(Each&& each) const {
        for (const auto& field : fields) each(std::string_view(field.name_string()), std::string_view(field.value()));
        for_each_field_line(std::string_view(lines).substr(0, upstream_size), each);
    }
};

// How an answer ended: all of it reached the client, it was cut (the upstream failed after the
// head was sent), or the client went away.
enum class AnswerEnd { complete, cut, client_gone };

class ResponseStep {
public:
    virtual ~ResponseStep() = default;
    // Before the head is sent.
    virtual void on_head(AnswerHead& /*head*/) {}
    // A piece of the body on its way to the client: returns what goes on (valid until the next
    // call). After the last piece comes one call with `last` set and an empty piece, so a step
    // that held bytes back can let them go.
    virtual std::string_view on_body(std::string_view piece, bool /*last*/) { return piece; }
    // Once, when the answer ended; never when no head was sent.
    virtual void on_end(AnswerEnd /*end*/) {}
};

// The steps of one request, in the order they run (a fixed few: no allocation per request).
class ResponsePhases {
public:
    static constexpr std::size_t max_steps = 8;

    void add(ResponseStep& step) { steps_[count_++] = &step; }

    void head(AnswerHead& head) const {
        for (std::size_t i = 0; i < count_; ++i) steps_[i]->on_head(head);
    }
    std::string_view body(std::string_view piece, bool last) const {
        for (std::size_t i = 0; i < count_; ++i) {
            piece = steps_[i]->on_body(piece, last);
            if (piece.empty() && !last) break;  // held back: nothing for the later steps yet
        }
        return piece;
    }
    void end(AnswerEnd end) const {
        for (std::size_t i = 0; i < count_; ++i) steps_[i]->on_end(end);
    }

private:
    std::array<ResponseStep*, max_steps> steps_{};
    std::size_t count_ = 0;
};

}  // namespace llmgw::http
