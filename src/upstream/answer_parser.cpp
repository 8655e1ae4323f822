// AnswerParser: an upstream answer's head and body (RFC 9112), without Beast's tokenizer.
#include "llmgw/upstream/answer_parser.hpp"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "llmgw/headers/field_syntax.hpp"
#include "llmgw/headers/header_names.hpp"
#include "llmgw/http/response_phases.hpp"

namespace llmgw::upstream {

namespace bhttp = http::beast::http;
using boost::system::error_code;
using headers::is_digit;
using headers::is_space;
using headers::is_text_char;
using headers::is_token_char;
using headers::parse_decimal;
using headers::read_field_line;
using headers::trim;

namespace {

constexpr std::string_view crlf = "\r\n";

int hex_digit(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A Content-Length value: a number, or a list of the same number (RFC 9110 §8.6), as Beast.
bool parse_content_length(std::string_view value, std::uint64_t& out) {
    std::optional<std::uint64_t> found;
    for (;;) {
        const auto comma = value.find(',');
        std::uint64_t n = 0;
        if (!parse_decimal(trim(value.substr(0, comma)), n)) return false;
        if (found && *found != n) return false;
        found = n;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    out = *found;
    return true;
}

// The framing and connection fields the parser reads and never keeps.
enum class Kind { end_to_end, content_length, transfer_encoding, connection, hop_by_hop };

Kind kind_of(std::string_view name) {
    switch (name.size()) {
        case 10:
            if (headers::equals_lower(name, "connection")) return Kind::connection;
            return headers::equals_lower(name, "keep-alive") ? Kind::hop_by_hop : Kind::end_to_end;
        case 14:
            return headers::equals_lower(name, "content-length") ? Kind::content_length : Kind::end_to_end;
        case 16:
            return headers::equals_lower(name, "proxy-connection") ? Kind::connection : Kind::end_to_end;
        case 17:
            return headers::equals_lower(name, "transfer-encoding") ? Kind::transfer_encoding
                                                                    : Kind::end_to_end;
        case 2: case 7: case 18: case 19:
            return headers::is_hop_by_hop(name) ? Kind::hop_by_hop : Kind::end_to_end;
        default:
            return Kind::end_to_end;
    }
}

// The elements of a comma-separated list, trimmed; empty ones skipped.
template <typename Each>
void for_each_element(std::string_view list, Each&& each) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto element = trim(list.substr(0, comma));
        if (!element.empty()) each(element);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

// chunk-ext (RFC 9112 §7.1.1): *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
bool valid_chunk_extensions(std::string_view ext) {
    std::size_t i = 0;
    const auto skip_space = [&] { while (i < ext.size() && is_space(ext[i])) ++i; };
    const auto token = [&] {
        const auto start = i;
        while (i < ext.size() && is_token_char(ext[i])) ++i;
        return i > start;
    };
    while (i < ext.size()) {
        skip_space();
        if (i == ext.size() || ext[i++] != ';') return false;
        skip_space();
        if (!token()) return false;
        const auto before_value = i;
        skip_space();
        if (i == ext.size() || ext[i] != '=') {
            i = before_value;  // no value: what follows is the next extension's BWS
            continue;
        }
        ++i;
        skip_space();
        if (i < ext.size() && ext[i] == '"') {
            for (++i; i < ext.size() && ext[i] != '"'; ++i) {
                if (ext[i] == '\\' && ++i == ext.size()) return false;
                if (!is_text_char(ext[i])) return false;
            }
            if (i++ == ext.size()) return false;
        } else if (!token()) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool AnswerParser::keep_alive() const {
    if (ends_with_close_) return false;
    return http11_ ? !close_ : keep_alive_token_;
}

std::size_t AnswerParser::put_head(std::string_view in, error_code& ec) {
    ec = {};
    // The head ends at the first empty line; bytes searched before are not searched again.
    const auto from = scanned_ >= 3 ? scanned_ - 3 : 0;
    const auto end = in.find("\r\n\r\n", from);
    if (end == std::string_view::npos) {
        scanned_ = in.size();
        ec = in.size() >= head_limit_ ? error_code(bhttp::error::header_limit)
                                      : error_code(bhttp::error::need_more);
        return 0;
    }
    if (end + 4 > head_limit_) {
        ec = bhttp::error::header_limit;
        return 0;
    }
    return parse_head(in.substr(0, end + 2), ec) == 0 ? 0 : end + 4;
}

// `head`: the status line and the field lines, each with its CRLF.
std::size_t AnswerParser::parse_head(std::string_view head, error_code& ec) {
    if (!parse_status_line(head, ec)) return 0;
    lines_.reserve(head.size());  // the kept lines are never longer than the head
    std::vector<std::string_view> listed;  // named by Connection: hop-by-hop for this answer
    for (const char *p = head.data(), *end = p + head.size(); p != end;) {
        std::string_view name, value;
        p = read_field_line(p, end, name, value);
        if (p == nullptr) {
            ec = bhttp::error::bad_field;
            return 0;
        }
        const auto kind = kind_of(name);
        if (kind == Kind::end_to_end) {
            keep(name, value);
            continue;
        }
        if (kind == Kind::connection && !read_connection(value, listed, ec)) return 0;
        if ((kind == Kind::content_length || kind == Kind::transfer_encoding) &&
            !read_framing(kind == Kind::content_length, value, ec))
            return 0;
    }
    if (!listed.empty()) drop_listed(listed);
    choose_framing();
    return 1;
}

// An end-to-end field, kept as a line of text: "name: value\r\n".
void AnswerParser::keep(std::string_view name, std::string_view value) {
    if (name.size() == 12 && headers::equals_lower(name, "content-type"))
        event_stream_ = value.starts_with("text/event-stream");
    http::append_field_line(lines_, name, value);  // the head's size is reserved
}

// The fields Connection named are hop-by-hop too (rare: a server's own extension).
void AnswerParser::drop_listed(const std::vector<std::string_view>& listed) {
    std::string kept;
    http::for_each_field_line(lines_, [&](std::string_view name, std::string_view value) {
        const bool named = std::any_of(listed.begin(), listed.end(),
                                       [&](std::string_view token) { return headers::iequals(token, name); });
        if (!named) http::append_field_line(kept, name, value);
    });
    lines_ = std::move(kept);
}

// Connection's options: close, keep-alive, and the names of more hop-by-hop fields.
bool AnswerParser::read_connection(std::string_view value, std::vector<std::string_view>& listed,
                                   error_code& ec) {
    bool tokens = true;
    for_each_element(value, [&](std::string_view token) {
        tokens = tokens && std::all_of(token.begin(), token.end(), is_token_char);
        if (headers::iequals(token, "close")) close_ = true;
        else if (headers::iequals(token, "keep-alive")) keep_alive_token_ = true;
        else listed.push_back(token);
    });
    if (!tokens) ec = bhttp::error::bad_value;
    return tokens;
}

bool AnswerParser::parse_status_line(std::string_view& rest, error_code& ec) {
    // HTTP-version SP 3DIGIT SP reason-phrase CRLF; versions 1.0 and 1.1 only.
    const auto eol = rest.find(crlf);
    const auto line = rest.substr(0, eol);
    const bool shaped = line.size() >= 13 && line.substr(0, 5) == "HTTP/" && is_digit(line[5]) &&
                        line[6] == '.' && is_digit(line[7]) && line[8] == ' ' &&
                        is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
                        line[12] == ' ';
    const int version = shaped ? (line[5] - '0') * 10 + (line[7] - '0') : 0;
    if (version != 10 && version != 11) {
        ec = bhttp::error::bad_version;
        return false;
    }
    if (!std::all_of(line.begin() + 13, line.end(), is_text_char)) {
        ec = bhttp::error::bad_reason;
        return false;
    }
    status_ = static_cast<unsigned>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
    http11_ = version == 11;
    head_.version(static_cast<unsigned>(version));
    head_.result(status_);
    rest.remove_prefix(eol + 2);
    return true;
}

// The framing fields, as Beast reads them, except that Transfer-Encoding and Content-Length
// together are an error whichever comes first.
bool AnswerParser::read_framing(bool content_length, std::string_view value, error_code& ec) {
    if (content_length) {
        std::uint64_t length = 0;
        if (transfer_encoding_ || !parse_content_length(value, length)) {
            ec = bhttp::error::bad_content_length;
            return false;
        }
        if (content_length_ && *content_length_ != length) {
            ec = bhttp::error::multiple_content_length;
            return false;
        }
        content_length_ = length;
        return true;
    }
    if (chunked_ || content_length_) {
        ec = bhttp::error::bad_transfer_encoding;
        return false;
    }
    transfer_encoding_ = true;
    // Chunked only as the last coding; otherwise the body ends with the connection. Chunked
    // twice is an error (Beast reads "chunked, chunked" as not chunked at all).
    // Codings with parameters, or anything else that is not a token, are refused: Beast reads
    // "chunked" out of "chunked\xff=1", which a server may not mean.
    std::string_view last;
    int chunked = 0;
    bool tokens = true;
    for_each_element(value, [&](std::string_view coding) {
        tokens = tokens && std::all_of(coding.begin(), coding.end(), is_token_char);
        last = coding;
        if (headers::iequals(coding, "chunked")) ++chunked;
    });
    chunked_ = headers::iequals(last, "chunked");
    if (chunked > 1 || !tokens) {
        ec = bhttp::error::bad_transfer_encoding;
        return false;
    }
    return true;
}

void AnswerParser::choose_framing() {
    if (skip_body_ || status_ / 100 == 1 || status_ == 204 || status_ == 304) {
        state_ = State::done;  // no body, whatever the head says (RFC 9112 §6.3)
    } else if (chunked_) {
        state_ = State::chunk_size;
    } else if (content_length_) {
        remaining_ = *content_length_;
        state_ = remaining_ > 0 ? State::length : State::done;
    } else {
        state_ = State::to_eof;
        ends_with_close_ = true;
    }
}

AnswerParser::Progress AnswerParser::put_body(std::string_view in, char* out, std::size_t room,
                                              error_code& ec) {
    ec = {};
    Progress progress;
    while (state_ != State::done) {
        const auto rest = in.substr(progress.used);
        std::size_t used = 0;
        if (state_ == State::length || state_ == State::to_eof || state_ == State::chunk_data) {
            std::uint64_t n = std::min(rest.size(), room - progress.written);
            if (state_ != State::to_eof) n = std::min(n, remaining_);
            if (n == 0) {
                if (rest.empty()) ec = bhttp::error::need_more;
                return progress;  // or the room is full: the caller makes more
            }
            std::memcpy(out + progress.written, rest.data(), n);
            progress.written += n;
            used = n;
            if (state_ != State::to_eof && (remaining_ -= n) == 0)
                state_ = state_ == State::length ? State::done : State::chunk_end;
        } else if (state_ == State::chunk_end) {
            if (rest.size() < 2) {
                ec = bhttp::error::need_more;
                return progress;
            }
            if (rest.substr(0, 2) != crlf) {
                ec = bhttp::error::bad_chunk;
                return progress;
            }
            used = 2;
            state_ = State::chunk_size;
        } else {
            used = state_ == State::chunk_size ? chunk_size_line(rest, ec) : trailer_line(rest, ec);
            if (used == 0) return progress;
        }
        progress.used += used;
    }
    return progress;
}

// Where the line at the start of `in` ends (its CRLF), within max_line bytes; npos with
// need_more while it may still end, with `too_long` when it cannot.
std::size_t AnswerParser::line_end(std::string_view in, bhttp::error too_long, error_code& ec) {
    const auto eol = in.substr(0, max_line + 2).find(crlf);
    if (eol == std::string_view::npos)
        ec = in.size() >= max_line + 2 ? error_code(too_long) : error_code(bhttp::error::need_more);
    return eol;
}

// chunk-size [ chunk-ext ] CRLF
std::size_t AnswerParser::chunk_size_line(std::string_view in, error_code& ec) {
    const auto eol = line_end(in, bhttp::error::bad_chunk, ec);
    if (eol == std::string_view::npos) return 0;
    const auto line = in.substr(0, eol);
    std::uint64_t size = 0;
    std::size_t i = 0;
    for (; i < line.size() && hex_digit(line[i]) >= 0; ++i) {
        if (size > (UINT64_MAX >> 4)) break;  // too large: refused below
        size = size * 16 + static_cast<std::uint64_t>(hex_digit(line[i]));
    }
    if (i == 0 || (i < line.size() && hex_digit(line[i]) >= 0) ||
        !valid_chunk_extensions(line.substr(i))) {
        ec = bhttp::error::bad_chunk;
        return 0;
    }
    remaining_ = size;
    state_ = size == 0 ? State::trailer : State::chunk_data;
    return eol + 2;
}

// After the last chunk: trailer fields, read and dropped, up to the empty line.
std::size_t AnswerParser::trailer_line(std::string_view in, error_code& ec) {
    const auto eol = line_end(in, bhttp::error::header_limit, ec);
    if (eol == std::string_view::npos) return 0;
    if (eol == 0) {
        state_ = State::done;
        return 2;
    }
    std::string_view name, value;
    if (read_field_line(in.data(), in.data() + eol + 2, name, value) == nullptr) {
        ec = bhttp::error::bad_field;
        return 0;
    }
    // As Beast: a trailer cannot frame the body it follows, and its Connection counts (a
    // close there, too, keeps the connection out of the pool).
    const auto kind = kind_of(name);
    if (kind == Kind::content_length || kind == Kind::transfer_encoding) {
        ec = kind == Kind::content_length ? bhttp::error::bad_content_length
                                          : bhttp::error::bad_transfer_encoding;
        return 0;
    }
    std::vector<std::string_view> listed;  // the head is gone: nothing to drop
    if (kind == Kind::connection && !read_connection(value, listed, ec)) return 0;
    return eol + 2;
}

void AnswerParser::put_eof(error_code& ec) {
    ec = {};
    if (state_ == State::to_eof) state_ = State::done;
    if (state_ != State::done) ec = bhttp::error::partial_message;
}

}  // namespace llmgw::upstream
