// Reading the upstream body piece by piece into the answer relay.
#include "relay.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <memory>
#include <optional>

#include "llmgw/upstream/answer_read.hpp"
#include "llmgw/upstream/backend_state.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;

namespace {

// What one raw read takes at most (Beast's own http::read_some bound).
constexpr std::size_t kMaxReadBytes = 64 * 1024;

Failure read_failure(const boost::system::error_code& ec, bool total_bound) {
    if (ec != beast::error::timeout && ec != net::error::timed_out) return Failure::reset;
    return total_bound ? Failure::total_timeout : Failure::idle_timeout;
}

// Where the parser puts the body bytes of one step, grown to what the connection's buffer held:
// a stream waiting for its next event holds a piece the size of its largest read, not a fixed
// 16 KiB in its coroutine frame (most of a held stream's memory, issue 17).
class Piece {
public:
    char* reserve(std::size_t bytes) {
        if (bytes > capacity_) {
            data_ = std::make_unique_for_overwrite<char[]>(bytes);
            capacity_ = bytes;
        }
        return data_.get();
    }
    std::size_t capacity() const { return capacity_; }
    std::string_view first(std::size_t bytes) const { return {data_.get(), bytes}; }

private:
    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
};

// Parses what the connection's buffer holds, at once (no other stream can step in between):
// the body bytes land in `piece`; returns how many. `need_read` when the parser waits for
// more input; `ec` a parse error, or nothing.
std::size_t parse_buffered(AnswerParser& parser, beast::flat_buffer& buffer, Piece& piece,
                           boost::system::error_code& ec, bool& need_read) {
    // A body byte comes from a buffered byte: a piece the buffer's size holds them all.
    char* out = piece.reserve(std::max<std::size_t>(buffer.size(), 1));
    const std::string_view buffered(static_cast<const char*>(buffer.data().data()), buffer.size());
    const auto progress = parser.put_body(buffered, out, piece.capacity(), ec);
    buffer.consume(progress.used);
    need_read = ec == bhttp::error::need_more;
    if (need_read) ec = {};
    return progress.written;
}

}  // namespace

http::Task<Failure> relay_body(AttemptHead& attempt, http::AnswerRelay& relay,
                               const AttemptLimits& limits, http::HangUp& hang_up,
                               EndpointSlot* slot, Clock::duration& own_time,
                               Clock::time_point& now) {
    auto& connection = *attempt.connection;
    auto& parser = *attempt.parser;
    auto& buffer = connection.buffer;
    Piece piece;
    hang_up.slot().assign([&connection](net::cancellation_type) {
        boost::system::error_code ignored;
        connection.stream.socket().close(ignored);
    });
    Failure failure = Failure::none;
    // Body bytes that came with the head are relayed before anything is read.
    bool need_read = buffer.size() == 0;
    while (!parser.done()) {
        boost::system::error_code ec;
        bool total_bound = false;
        const bool reads = need_read;
        if (reads) {
            const auto idle_limit = limits.remaining(limits.timeouts.idle, now);
            total_bound = idle_limit < Clock::duration(limits.timeouts.idle);
            // Zero: max_read_ahead_bytes buffered and the parser still wants more.
            const auto size = beast::read_size(buffer, kMaxReadBytes);
            if (size == 0) ec = bhttp::error::buffer_overflow;
            if (!ec) {
                const auto raw =
                    co_await read_answer(connection, buffer.prepare(size), now + idle_limit);
                const auto read = answer_read_result(connection, raw);
                buffer.commit(read.bytes);
                ec = read.ec;
            }
            // The end of a close-delimited body (a TLS server that ends it without close_notify
            // too); for any other framing the parser calls it partial.
            if (ec == net::error::eof || (ec == net::ssl::error::stream_truncated && connection.tls))
                parser.put_eof(ec);
        }
        // A read waited; bytes already buffered did not.
        const auto read_at = reads ? Clock::now() : now;
        if (hang_up.happened()) {
            now = read_at;  // the reading on return is when the relay ended, whatever its end
            failure = Failure::client_gone;
            break;
        }
        const std::size_t got = ec ? 0 : parse_buffered(parser, buffer, piece, ec, need_read);
        if (slot != nullptr && parser.done()) slot->release();
        // Written at once when the client's socket takes it (nearly always).
        const auto written = got > 0 ? relay.body_now(piece.first(got)) : std::optional<bool>(true);
        bool relayed = written.value_or(false);
        if (!written) relayed = co_await relay.flush();
        now = Clock::now();
        own_time += now - read_at;
        if (!relayed) {
            failure = Failure::client_gone;
            break;
        }
        if (ec) {
            failure = read_failure(ec, total_bound);
            break;
        }
    }
    hang_up.slot().clear();
    if (failure != Failure::none) co_return failure;
    const auto finish_at = now;
    const auto finished_now = relay.finish_now();
    bool finished = finished_now.value_or(false);
    if (!finished_now) finished = co_await relay.flush();
    now = Clock::now();
    own_time += now - finish_at;
    co_return finished ? Failure::none : Failure::client_gone;
}

}  // namespace llmgw::upstream
