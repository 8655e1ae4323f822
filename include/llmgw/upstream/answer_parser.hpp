// Reads an upstream's HTTP/1.x answer for relaying: its head (status and end-to-end fields)
// once all of it is buffered, then its body in pieces, whatever the framing (Content-Length,
// chunked, until the close, none).
//
// Beast's response parser did this before. Its field tokenizer and the framing checks it
// runs on every field cost about 2,000 instructions per answer, more than half of the
// answer's whole parse (issue 17); each field then took an allocation and a tree insertion,
// and the forwarder walked the fields again to drop the hop-by-hop ones. Here each field is
// looked at once: framing and connection fields are read, never kept, and the others are kept
// as the text lines they will be written as.
//
// What it accepts is what Beast accepts, less these (each rejected as an invalid answer, never
// guessed at: a wrong guess about where an answer ends on a pooled connection would hand its
// rest to the next request, maybe another tenant's):
//   * both Transfer-Encoding and Content-Length (RFC 9112 §6.1: "ought to be handled as an
//     error"; Beast accepts a Content-Length after a Transfer-Encoding without chunked);
//   * obsolete line folding (a field line that starts with a space or tab).
#pragma once

#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgw/http/beast.hpp"

namespace llmgw::upstream {

class AnswerParser {
public:
    // Beast's default for a response head.
    static constexpr std::size_t default_head_limit = 8 * 1024;
    // A chunk's size line (with its extensions) and each trailer line.
    static constexpr std::size_t max_line = 4 * 1024;

    explicit AnswerParser(std::size_t head_limit = default_head_limit) : head_limit_(head_limit) {}
    AnswerParser(const AnswerParser&) = delete;
    AnswerParser& operator=(const AnswerParser&) = delete;

    // The answer to a HEAD request: whatever its head says, no body follows.
    void skip_body() { skip_body_ = true; }

    // Parses the head once `in` (the bytes buffered so far, from the answer's first) holds all
    // of it; returns how many bytes it took. Until then returns 0 with need_more; errors are
    // Beast's (http::error).
    std::size_t put_head(std::string_view in, boost::system::error_code& ec);

    // Copies the body bytes in `in` to `out` (at most `room`), decoding chunks. need_more when
    // `in` ends before the body does.
    struct Progress {
        std::size_t used = 0;     // taken from `in`
        std::size_t written = 0;  // put in `out`
    };
    Progress put_body(std::string_view in, char* out, std::size_t room,
                      boost::system::error_code& ec);

    // The connection's end: the end of a body read until the close; partial_message anywhere
    // else before the answer is done.
    void put_eof(boost::system::error_code& ec);

    bool head_done() const { return state_ != State::head; }
    bool done() const { return state_ == State::done; }
    unsigned status() const { return status_; }
    bool chunked() const { return chunked_; }
    // Set when the answer had a Content-Length (none with chunked or until-close framing).
    std::optional<std::uint64_t> content_length() const { return content_length_; }
    // The connection can carry another request after this answer.
    bool keep_alive() const;
    // The status and version (no fields: they are in lines()).
    http::ResponseHead& head() { return head_; }
    // The end-to-end fields as text, "name: value\r\n" each, in the order they came (for
    // http::AnswerHead::lines); may be moved from.
    std::string& lines() { return lines_; }
    // Content-Type: text/event-stream.
    bool event_stream() const { return event_stream_; }

private:
    enum class State { head, length, to_eof, chunk_size, chunk_data, chunk_end, trailer, done };

    std::size_t parse_head(std::string_view head, boost::system::error_code& ec);
    bool parse_status_line(std::string_view& rest, boost::system::error_code& ec);
    void keep(std::string_view name, std::string_view value);
    void drop_listed(const std::vector<std::string_view>& listed);
    bool read_connection(std::string_view value, std::vector<std::string_view>& listed,
                         boost::system::error_code& ec);
    bool read_framing(bool content_length, std::string_view value, boost::system::error_code& ec);
    void choose_framing();
    static std::size_t line_end(std::string_view in, boost::beast::http::error too_long,
                                boost::system::error_code& ec);
    std::size_t chunk_size_line(std::string_view in, boost::system::error_code& ec);
    std::size_t trailer_line(std::string_view in, boost::system::error_code& ec);

    http::ResponseHead head_;
    std::string lines_;
    std::size_t head_limit_;
    std::size_t scanned_ = 0;  // head bytes already searched for its end
    State state_ = State::head;
    unsigned status_ = 0;
    bool http11_ = false;
    bool skip_body_ = false;
    bool chunked_ = false;
    bool transfer_encoding_ = false;
    bool close_ = false;
    bool keep_alive_token_ = false;
    bool ends_with_close_ = false;  // the body is read until the close
    bool event_stream_ = false;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t remaining_ = 0;  // of the body (Content-Length) or of the chunk
};

}  // namespace llmgw::upstream
