// Sentinel discovery: each sentinel in turn is asked, on a short connection of its own, where
// the master is; the first answer wins.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "connection.hpp"

namespace llmgw::redis::detail {

namespace asio = boost::asio;

namespace {

// A sentinel's answer is small: anything longer is not a sentinel talking.
constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

std::string where(const Client::Address& server) {
    return server.host + ":" + std::to_string(server.port);
}

// Reads until `count` replies have been parsed; "" or why not.
Task<std::string> read_replies(Stream& stream, std::size_t count, std::vector<Result>& out) {
    std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(),
                                                                &redisReaderFree);
    std::array<char, 4096> buffer;
    while (out.size() < count) {
        void* reply = nullptr;
        if (redisReaderGetReply(reader.get(), &reply) != REDIS_OK) co_return reader->errstr;
        if (reply != nullptr) {
            out.push_back(to_result(*static_cast<redisReply*>(reply)));
            freeReplyObject(reply);
            continue;
        }
        const auto [ec, n] = co_await stream.read_some(asio::buffer(buffer));
        if (ec) co_return ec == asio::error::eof ? "closed by the server" : ec.message();
        redisReaderFeed(reader.get(), buffer.data(), n);
        if (reader->len > kMaxAnswerBytes) co_return "answer too long";
    }
    co_return "";
}

}  // namespace

Task<std::optional<std::vector<Result>>> request_once(
    Executor executor, const Client::Tls* tls, Client::Address server,
    std::vector<std::vector<std::string>> commands, std::chrono::milliseconds timeout,
    std::string& failure, bool& tls_failed) {
    auto stream = std::make_shared<Stream>(executor, tls);
    Timer deadline(executor);
    auto expired = std::make_shared<bool>(false);  // the handler may run after we return
    deadline.expires_after(timeout);
    deadline.async_wait([stream, expired](boost::system::error_code ec) {
        if (ec) return;
        *expired = true;
        stream->close();
    });
    if (!server.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!server.username.empty()) auth.push_back(server.username);
        auth.push_back(server.password);
        commands.insert(commands.begin(), std::move(auth));
    }
    std::vector<Result> replies;
    failure = co_await stream->open(server.host, server.port);
    tls_failed = stream->tls_failed();
    if (failure.empty()) {
        std::string out;
        for (const auto& command : commands) append_command(out, command);
        const auto ec = co_await stream->write(asio::buffer(out));
        if (ec) failure = "write failed: " + ec.message();
    }
    if (failure.empty()) failure = co_await read_replies(*stream, commands.size(), replies);
    deadline.cancel();
    stream->close();
    if (*expired) failure = "no answer within " + std::to_string(timeout.count()) + " ms";
    if (!failure.empty()) co_return std::nullopt;
    if (!server.password.empty()) replies.erase(replies.begin());  // AUTH's answer
    co_return replies;
}

// SENTINEL get-master-addr-by-name answers [host, port], or nil for a master it does not know.
Task<std::optional<Client::Address>> Connection::locate(std::string& failure) {
    const Client::Tls* tls = options_.tls ? &*options_.tls : nullptr;
    std::vector<std::string> problems;
    for (const auto& sentinel : options_.sentinels) {
        std::vector<std::vector<std::string>> ask{
            {"SENTINEL", "get-master-addr-by-name", options_.sentinel_master}};
        std::string problem;
        bool tls_failed = false;
        auto replies = co_await request_once(executor_, tls, sentinel, std::move(ask),
                                             options_.connect_timeout, problem, tls_failed);
        if (tls_failed && owner && owner->on_tls_failure) owner->on_tls_failure();
        if (!running_) break;
        if (replies) {
            const Result& answer = replies->front();
            uint16_t port = 0;
            const bool has_pair = answer && answer->is_array() && answer->elements.size() == 2;
            if (has_pair) {
                const auto& text = answer->elements[1].str;
                std::from_chars(text.data(), text.data() + text.size(), port);
            }
            if (has_pair && port != 0)
                co_return Client::Address{answer->elements[0].str, port, {}, {}};
            problem = answer ? "does not know master " + options_.sentinel_master
                             : answer.error().message;
        }
        problems.push_back("sentinel " + where(sentinel) + ": " + problem);
    }
    failure = "no sentinel named the master";
    for (const auto& problem : problems) failure += "; " + problem;
    co_return std::nullopt;
}

}  // namespace llmgw::redis::detail
