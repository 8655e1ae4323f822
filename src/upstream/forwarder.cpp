// The upstream exchange: pick an endpoint, connect (or reuse), send, read the head, relay the
// body piece by piece; retry elsewhere when it failed before anything reached the client.
#include "llmgw/upstream/forwarder.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <random>

#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::upstream {

namespace net = http::net;
namespace beast = http::beast;
namespace bhttp = beast::http;
using clock = std::chrono::steady_clock;

namespace {

bool is_timeout(const boost::system::error_code& ec) {
    return ec == beast::error::timeout || ec == net::error::timed_out;
}

// Errors that mean the server closed a kept-alive connection before reading our
// request; the request can go again on a fresh connection.
bool is_stale_connection(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::ssl::error::stream_truncated;  // TLS: closed without close_notify
}

// The upstream's headers minus those that describe its own connection and framing.
void copy_end_to_end_headers(const bhttp::fields& from, http::ResponseHead& to) {
    std::vector<std::string> listed;
    for (const auto& field : from) {  // every Connection line counts
        if (field.name() != bhttp::field::connection) continue;
        auto tokens = http::connection_tokens(field.value());
        listed.insert(listed.end(), tokens.begin(), tokens.end());
    }
    for (const auto& field : from) {
        const auto name = field.name_string();
        if (http::is_hop_by_hop(name) || http::iequals(name, "content-length")) continue;
        if (std::any_of(listed.begin(), listed.end(),
                        [&](const std::string& t) { return http::iequals(t, name); }))
            continue;
        to.insert(field.name(), name, field.value());
    }
}

// Increments a counter for the lifetime of a scope.
class InFlight {
public:
    explicit InFlight(std::atomic<int>& counter) : counter_(counter) {
        counter_.fetch_add(1, std::memory_order_relaxed);
    }
    ~InFlight() { counter_.fetch_sub(1, std::memory_order_relaxed); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    std::atomic<int>& counter_;
};

std::chrono::milliseconds retry_backoff(unsigned retry) {
    // 25 ms, 50 ms, 100 ms ... with ±50% jitter so retries from many clients spread out.
    thread_local std::minstd_rand random{std::random_device{}()};
    const auto base = 25 << std::min(retry, 5u);
    return std::chrono::milliseconds(base / 2 +
                                     static_cast<int>(random() % static_cast<unsigned>(base)));
}

}  // namespace

void AnswerCopy::keep(std::string_view piece) {
    if (too_large) return;
    if (body.size() + piece.size() > limit) {
        too_large = true;
        std::string().swap(body);
        return;
    }
    body.append(piece);
}

// The state of one forward, shared by the endpoint loop and the client watch.
struct Forwarder::Exchange {
    http::Request& request;
    BackendState& backend;
    http::ResponseWriter& client;
    observability::AccessRecord& record;
    const std::vector<std::pair<std::string, std::string>>& extra_headers;
    AnswerWatch* answer;
    clock::time_point started = clock::now();
    clock::time_point total_deadline{};
    UpstreamConnection* active = nullptr;  // the connection in use, for the client watch to close
    net::steady_timer* backoff =
        nullptr;  // the retry pause in progress, for the watch to cut short
    bool client_gone = false;
    Exchange* previous{nullptr};  // Forwarder::in_progress_ list
    Exchange* next{nullptr};
    std::shared_ptr<HangUpWatch> watch{};  // made only for forwards that run long
};

// The pending peek at a client's connection; shared with the peek's completion handler,
// which may run after the forward has ended.
struct Forwarder::HangUpWatch {
    Exchange* exchange = nullptr;  // null once the forward ended
    net::cancellation_signal cancel;
    char byte = 0;
};

struct Forwarder::AttemptResult {
    bool finished = false;  // the client got an answer (whole or cut): nothing more to do
    std::optional<http::GatewayError> error{};    // when not finished
    std::optional<config::RetryOn> retry_kind{};  // when not finished and another endpoint may help
    int upstream_status = 0;  // the status the endpoint answered, 0 when it did not
};

Forwarder::Forwarder(ConnectionPool& pool, observability::Metrics& metrics)
    : pool_(pool),
      metrics_(metrics),
      sweep_timer_(std::make_unique<net::steady_timer>(pool.executor())) {}

Forwarder::~Forwarder() = default;

void Forwarder::enlist(Exchange& exchange) {
    exchange.next = in_progress_;
    if (in_progress_ != nullptr) in_progress_->previous = &exchange;
    in_progress_ = &exchange;
    if (sweeping_) return;
    sweeping_ = true;
    sweep_timer_->expires_after(client_watch_sweep);
    sweep_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) sweep();
    });
}

void Forwarder::delist(Exchange& exchange) {
    if (exchange.previous != nullptr)
        exchange.previous->next = exchange.next;
    else
        in_progress_ = exchange.next;
    if (exchange.next != nullptr) exchange.next->previous = exchange.previous;
    if (exchange.watch) {
        exchange.watch->exchange = nullptr;
        exchange.watch->cancel.emit(net::cancellation_type::terminal);
    }
}

// Every forward older than client_watch_delay gets a peek at its client's connection:
// a read of zero bytes (or an error) means the client hung up. TLS clients are asked for
// their TCP state on each sweep instead.
void Forwarder::sweep() {
    const auto now = clock::now();
    for (auto* exchange = in_progress_; exchange != nullptr; exchange = exchange->next) {
        if (now - exchange->started < client_watch_delay) continue;
        if (exchange->client.hang_up_needs_polling()) {  // a TLS client: ask on every sweep
            if (!exchange->client_gone && exchange->client.client_closed())
                client_hung_up(*exchange);
            continue;
        }
        if (exchange->watch) continue;
        auto watch = std::make_shared<HangUpWatch>();
        watch->exchange = exchange;
        exchange->watch = watch;
        exchange->client.watch_for_hang_up(watch->byte, watch->cancel.slot(), [watch](bool gone) {
            if (gone && watch->exchange != nullptr) client_hung_up(*watch->exchange);
        });
    }
    if (in_progress_ == nullptr) {
        sweeping_ = false;
        return;
    }
    sweep_timer_->expires_after(client_watch_sweep);
    sweep_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) sweep();
    });
}

void Forwarder::client_hung_up(Exchange& exchange) {
    // Closing the upstream connection is what tells the model server to stop generating.
    exchange.client_gone = true;
    boost::system::error_code ignored;
    if (exchange.active != nullptr) {
        exchange.active->stream.socket().shutdown(http::tcp::socket::shutdown_both, ignored);
        exchange.active->stream.socket().close(ignored);
    }
    if (exchange.backoff != nullptr) exchange.backoff->cancel();
}

http::Task<ForwardOutcome> Forwarder::forward(
    http::Request& request, BackendState& backend, http::ResponseWriter& client,
    observability::AccessRecord& record,
    const std::vector<std::pair<std::string, std::string>>& extra_headers, AnswerWatch* watch) {
    const auto& config = backend.config();
    if (config.circuit_breaker.max_concurrent > 0 &&
        backend.in_flight.load(std::memory_order_relaxed) >=
            static_cast<int>(config.circuit_breaker.max_concurrent)) {
        metrics_.upstream_error(config.name, "overloaded");
        record.error = "backend_overloaded";
        co_return ForwardOutcome{http::GatewayError{503, "upstream_error", "backend_overloaded",
                                                    "the backend has too many requests in flight",
                                                    1}};
    }
    InFlight backend_in_flight(backend.in_flight);
    request.version(11);
    request.keep_alive(true);
    Exchange exchange{request, backend, client, record, extra_headers, watch};
    exchange.total_deadline = exchange.started + config.timeouts.total;
    enlist(exchange);
    auto result = co_await try_endpoints(exchange);
    delist(exchange);
    if (exchange.client_gone) {
        record.error = "client_closed";
        client.abort();  // nobody reads this connection any more
        co_return ForwardOutcome{};
    }
    co_return result;
}

http::Task<ForwardOutcome> Forwarder::try_endpoints(Exchange& exchange) {
    auto& backend = exchange.backend;
    const auto& config = backend.config();
    std::vector<bool> tried(backend.size(), false);
    std::optional<http::GatewayError> last_error;
    bool holding_retry = false;
    for (unsigned attempt_number = 0;; ++attempt_number) {
        const auto choice = backend.pick(tried, clock::now());
        if (!choice) {
            if (!last_error) {
                metrics_.upstream_error(config.name, "no_endpoint");
                last_error = http::GatewayError{503, "upstream_error", "no_healthy_endpoint",
                                                "no endpoint of the backend is available",
                                                backend.seconds_until_available(clock::now())};
            }
            break;
        }
        tried[choice->index] = true;
        if (attempt_number > 0) metrics_.retry(config.name, "attempt");
        auto& endpoint = backend.endpoint(choice->index);
        const bool more_attempts = attempt_number < config.retries.attempts;
        // An upstream 502/503 is held back for a retry only when one can really happen;
        // otherwise the upstream's own answer goes to the client.
        const bool may_retry_answer = more_attempts && backend.has_candidate(tried, clock::now()) &&
                                      (holding_retry || backend.retry_budget_left()) &&
                                      clock::now() < exchange.total_deadline;
        auto result = co_await attempt(exchange, endpoint, choice->ticket, may_retry_answer);
        // An answer's status was told to the breaker when the head arrived (before the client
        // saw it); what is left are failures without an answer.
        if (result.upstream_status == 0) {
            if (exchange.client_gone) endpoint.breaker.release(choice->ticket);
            else endpoint.breaker.record_failure(choice->ticket, clock::now());
        }
        if (result.finished || exchange.client_gone) {
            if (holding_retry) backend.end_retry();
            co_return ForwardOutcome{};
        }
        last_error = std::move(result.error);
        const bool retryable =
            more_attempts && result.retry_kind && config.retries.allows(*result.retry_kind);
        if (!retryable) break;
        if (!holding_retry) {
            if (!backend.try_start_retry()) {
                metrics_.retry(config.name, "budget_exhausted");
                break;
            }
            holding_retry = true;
        }
        const auto pause = std::min<clock::duration>(retry_backoff(attempt_number),
                                                     exchange.total_deadline - clock::now());
        if (pause <= clock::duration::zero()) break;
        net::steady_timer backoff(co_await net::this_coro::executor, pause);
        exchange.backoff = &backoff;
        co_await backoff.async_wait(net::as_tuple(net::use_awaitable));
        exchange.backoff = nullptr;
        if (exchange.client_gone) break;
    }
    if (holding_retry) backend.end_retry();
    exchange.record.error = last_error ? last_error->code : "upstream_error";
    co_return ForwardOutcome{std::move(last_error)};
}

http::Task<Forwarder::AttemptResult> Forwarder::attempt(Exchange& exchange, EndpointState& state,
                                                        const CircuitBreaker::Ticket& ticket,
                                                        bool may_retry_answer) {
    const auto& config = exchange.backend.config();
    const auto& timeouts = config.timeouts;
    const auto& endpoint = state.endpoint;
    auto& request = exchange.request;
    auto& record = exchange.record;
    InFlight endpoint_in_flight(state.in_flight);
    record.endpoint = endpoint.url;
    request.set(bhttp::field::host, host_header(endpoint));

    auto failure = [&](std::string_view kind, http::GatewayError error,
                       std::optional<config::RetryOn> retry_kind) {
        metrics_.upstream_error(config.name, kind);
        return AttemptResult{false, std::move(error), retry_kind};
    };
    auto remaining = [&](clock::duration limit) {
        return std::max<clock::duration>(
            std::min<clock::duration>(limit, exchange.total_deadline - clock::now()),
            clock::duration::zero());
    };

    std::unique_ptr<UpstreamConnection> connection;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    const auto attempt_started = clock::now();
    // One more try on a fresh connection only when a pooled one turns out to have
    // been closed by the server before it answered anything.
    for (int fresh = 0; fresh < 2; ++fresh) {
        const auto connect_timeout =
            std::chrono::ceil<std::chrono::milliseconds>(remaining(timeouts.connect));
        auto acquired = co_await pool_.acquire(endpoint, exchange.backend.tls(), connect_timeout,
                                               /*fresh=*/fresh > 0);
        if (exchange.client_gone) co_return AttemptResult{true};
        if (acquired.failure == ConnectFailure::timeout)
            co_return failure("connect_timeout",
                              http::gateway_timeout("timed out connecting to the upstream",
                                                    "upstream_connect_timeout"),
                              config::RetryOn::connect_failure);
        // A failed handshake (an untrusted certificate included) is a failed connect: the
        // request was never sent, so another endpoint may take it.
        if (acquired.failure == ConnectFailure::tls)
            co_return failure("tls",
                              http::bad_gateway("the TLS handshake with the upstream failed",
                                                "upstream_tls_error"),
                              config::RetryOn::connect_failure);
        if (acquired.failure != ConnectFailure::none)
            co_return failure("connect", http::bad_gateway("could not connect to the upstream"),
                              config::RetryOn::connect_failure);
        connection = std::move(acquired.connection);
        exchange.active = connection.get();
        auto& stream = connection->stream;

        // first_byte covers sending the request and waiting for the answer's head.
        const auto first_byte_deadline = clock::now() + remaining(timeouts.first_byte);
        stream.expires_at(first_byte_deadline);
        auto [write_ec, written] = co_await on_stream(*connection, [&](auto& s) {
            return bhttp::async_write(s, request, net::as_tuple(net::use_awaitable));
        });
        boost::system::error_code ec = write_ec;
        if (!ec) {
            parser.emplace();
            parser->body_limit(boost::none);  // the answer is relayed, never held whole
            if (request.method() == bhttp::verb::head) parser->skip(true);
            stream.expires_at(first_byte_deadline);
            auto [read_ec, n] = co_await on_stream(*connection, [&](auto& s) {
                return bhttp::async_read_header(s, connection->buffer, *parser,
                                                net::as_tuple(net::use_awaitable));
            });
            ec = read_ec;
        }
        exchange.active = nullptr;
        if (exchange.client_gone) co_return AttemptResult{true};
        if (!ec) break;
        if (connection->reused && fresh == 0 && is_stale_connection(ec)) continue;
        if (is_timeout(ec)) {
            const bool total = clock::now() >= exchange.total_deadline;
            co_return failure(
                total ? "total_timeout" : "first_byte_timeout",
                http::gateway_timeout("the upstream did not answer in time", "upstream_timeout"),
                config::RetryOn::timeout);
        }
        if (is_stale_connection(ec))
            co_return failure(
                "reset", http::bad_gateway("the upstream closed the connection", "upstream_reset"),
                config::RetryOn::reset);
        co_return failure(
            "invalid",
            http::bad_gateway("the upstream sent an invalid response", "upstream_invalid"),
            std::nullopt);
    }

    auto& upstream = parser->get();
    const auto status = upstream.result_int();
    record.upstream_first_byte = clock::now() - attempt_started;
    if (status < 200 || status > 599)
        co_return failure(
            "invalid",
            http::bad_gateway("the upstream sent an unsupported status", "upstream_invalid"),
            std::nullopt);
    // The breaker learns of 5xx answers before the client sees them: the next request
    // already goes elsewhere.
    if (status >= 500) state.breaker.record_failure(ticket, clock::now());
    else state.breaker.record_success(ticket);
    // An overloaded or failing endpoint's 502/503 goes to another endpoint when allowed;
    // otherwise (or on the last try) the upstream's own answer reaches the client unchanged.
    if (may_retry_answer && (status == 502 || status == 503)) {
        const auto kind = status == 502 ? config::RetryOn::status_502 : config::RetryOn::status_503;
        if (config.retries.allows(kind))
            co_return AttemptResult{
                false,
                http::GatewayError{static_cast<int>(status), "upstream_error",
                                   "upstream_unavailable",
                                   "every endpoint tried answered " + std::to_string(status)},
                kind, static_cast<int>(status)};
    }

    http::ResponseHead head;
    head.result(status);
    copy_end_to_end_headers(upstream.base(), head);
    const bool event_stream = upstream[bhttp::field::content_type].starts_with("text/event-stream");
    const bool chunked = !parser->is_done() && !parser->content_length();
    record.stream = chunked;
    auto* answer = exchange.answer;
    auto* scanner = answer != nullptr
                        ? &answer->scanner.emplace(event_stream,
                                                   answer->drop_usage_only_event && chunked)
                        : nullptr;
    auto* copy = answer != nullptr && answer->copy ? &*answer->copy : nullptr;
    if (copy != nullptr) {
        // The upstream's own headers only: what follows belongs to this one answer.
        copy->status = static_cast<int>(status);
        copy->event_stream = event_stream && chunked;
        copy->headers.clear();
        for (const auto& field : head)
            copy->headers.emplace_back(http::to_lower(field.name_string()), std::string(field.value()));
    }
    head.set("x-request-id", request["x-request-id"]);
    for (const auto& [name, value] : exchange.extra_headers) head.set(name, value);
    auto framing = http::ResponseWriter::Framing::chunked;
    if (!chunked) {
        // A known length (or no body at all) is passed on as it is.
        framing = http::ResponseWriter::Framing::content_length;
        if (status != 204 && status != 304)
            head.set(bhttp::field::content_length,
                     std::to_string(parser->content_length().value_or(0)));
    }
    auto& client = exchange.client;
    // When body bytes came with the head, the head waits for them: one write, one segment.
    const auto timing = parser->is_done() || connection->buffer.size() > 0
                            ? http::ResponseWriter::HeadTiming::with_first_piece
                            : http::ResponseWriter::HeadTiming::now;
    const bool head_sent = co_await client.send_head(head, framing, timing);
    if (!head_sent) {
        exchange.client_gone = true;
        co_return AttemptResult{true, std::nullopt, std::nullopt, static_cast<int>(status)};
    }

    // Each read's bytes go to the client before the next read: SSE events keep their pacing.
    std::array<char, 16 * 1024> piece;
    auto& stream = connection->stream;
    exchange.active = connection.get();
    while (!parser->is_done()) {
        upstream.body().data = piece.data();
        upstream.body().size = piece.size();
        const auto idle_limit = remaining(timeouts.idle);
        const bool total_bound = idle_limit < clock::duration(timeouts.idle);
        stream.expires_after(idle_limit);
        auto [ec, n] = co_await on_stream(*connection, [&](auto& s) {
            return bhttp::async_read_some(s, connection->buffer, *parser,
                                          net::as_tuple(net::use_awaitable));
        });
        const auto got = piece.size() - upstream.body().size;
        if (ec == bhttp::error::need_buffer) ec = {};
        // A TLS server that ends a close-delimited body without close_notify: still the end.
        if (ec == net::ssl::error::stream_truncated && connection->tls) parser->put_eof(ec);
        bool relayed = !exchange.client_gone;
        if (relayed && got > 0) {
            const std::string_view received(piece.data(), got);
            const auto relay = scanner != nullptr ? scanner->feed(received) : received;
            if (copy != nullptr) copy->keep(relay);
            if (!relay.empty()) relayed = co_await client.send_body(relay);
        }
        if (!relayed) {
            exchange.client_gone = true;
            co_return AttemptResult{
                true, std::nullopt, std::nullopt,
                static_cast<int>(status)};  // the connection is dropped with its unique_ptr
        }
        if (ec) {
            const auto kind = !is_timeout(ec) ? "reset"
                              : total_bound   ? "total_timeout"
                                              : "idle_timeout";
            metrics_.upstream_error(config.name, kind);
            if (client.take_back_head()) {
                // Nothing reached the client yet: it gets a clean error answer, not a cut.
                co_return AttemptResult{
                    false,
                    is_timeout(ec) ? http::gateway_timeout("the upstream stopped sending in time",
                                                           "upstream_timeout")
                                   : http::bad_gateway("the upstream sent an invalid response",
                                                       "upstream_invalid"),
                    std::nullopt, static_cast<int>(status)};
            }
            record.error = is_timeout(ec) ? "upstream_timeout" : "upstream_reset";
            // A cut stream must not look complete: no terminating chunk. SSE clients also get
            // an error event, which OpenAI SDKs raise as an exception.
            if (event_stream && client.chunked()) {
                const auto event =
                    "data: " +
                    http::error_body({502, "upstream_error", record.error,
                                      is_timeout(ec) ? "the upstream stopped sending in time"
                                                     : "the upstream connection broke"}) +
                    "\n\n";
                co_await client.send_body(event);
            }
            client.abort();
            co_return AttemptResult{true, std::nullopt, std::nullopt, static_cast<int>(status)};
        }
    }
    exchange.active = nullptr;
    if (scanner != nullptr) {
        const auto rest = scanner->finish();
        if (copy != nullptr) copy->keep(rest);
        bool sent = true;
        if (!rest.empty()) sent = co_await client.send_body(rest);
        if (!sent) {
            exchange.client_gone = true;
            co_return AttemptResult{true, std::nullopt, std::nullopt, static_cast<int>(status)};
        }
    }
    const bool finished = co_await client.finish();
    if (!finished) {
        exchange.client_gone = true;
        co_return AttemptResult{true, std::nullopt, std::nullopt, static_cast<int>(status)};
    }
    if (copy != nullptr) copy->complete = true;
    if (upstream.keep_alive()) pool_.release(std::move(connection), config);
    co_return AttemptResult{true, std::nullopt, std::nullopt, static_cast<int>(status)};
}

}  // namespace llmgw::upstream
