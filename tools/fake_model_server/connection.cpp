// One HTTP/1.1 keep-alive connection of the fake model server: reads each request, applies the
// x-fake-* controls and writes a JSON answer or a paced SSE stream.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <variant>

#include "endpoint_bodies.hpp"
#include "fake_model_server.hpp"
#include "openai_bodies.hpp"

namespace fake_model {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;
using std::chrono::milliseconds;

// Kept whole (moved, never copied) so /fake/stats can build the echo object only when asked.
struct RecordedRequest {
    Request message;
    std::string sni;  // the server name its TLS connection asked for ("" without TLS or SNI)
};

ServerState::ServerState(ServerOptions server_options)
    : options(std::move(server_options)), model_json(dump_json(options.model)) {}

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_header_bytes = 64 * 1024;
constexpr std::uint64_t max_body_bytes = 64ull * 1024 * 1024;
constexpr std::string_view json_type = "application/json";
constexpr int max_words = 1'000'000;  // keeps a mistyped x-fake-chunks from exhausting memory

// A whole answer, framed with Content-Length.
struct FullAnswer {
    http::status status = http::status::ok;
    std::string_view content_type;
    std::string body;
    std::string_view allow;                       // the Allow header of a 405
    const CompletionShape* completion = nullptr;  // counted in the metrics once written
};

// A completion streamed as server-sent events; the events are made as they are sent.
struct StreamAnswer {
    bool include_usage = false;
    // Another endpoint's stream (endpoint_bodies.hpp): these events instead of a completion's.
    std::optional<std::vector<std::string>> events;
};

using Answer = std::variant<FullAnswer, StreamAnswer>;

// The per-request x-fake-* headers.
struct FakeControls {
    std::optional<unsigned> status;
    milliseconds delay{0};
    int words = 0;
    milliseconds chunk_interval{0};
    milliseconds hold{0};  // x-fake-hold-ms: a pause after a stream's first event
    std::optional<int> drop_after;
    std::optional<int> reset_after;  // x-fake-reset-after
    bool echo = false;
};

std::optional<int> header_number(const Request& request, std::string_view name) {
    const auto found = request.find(name);
    if (found == request.end()) return std::nullopt;
    std::string_view text = found->value();
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    int value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

// Waits for `timer`, or less if the client hangs up meanwhile (like vLLM, which aborts a
// generation nobody is waiting for). True when the client left.
template <typename Stream>  // WorkerSocket or TlsStream
asio::awaitable<bool> wait_unless_hung_up(Stream& socket, asio::steady_timer& timer,
                                          ServerState& state) {
    using namespace asio::experimental::awaitable_operators;
    char byte;
    auto result = co_await (timer.async_wait(use_tuple) ||
                            beast::get_lowest_layer(socket).async_receive(
                                asio::buffer(&byte, 1), WorkerSocket::message_peek, use_tuple));
    if (result.index() == 0) co_return false;
    const auto [error, n] = std::get<1>(result);
    if (!error && n > 0) {
        // The client sent more (pipelining): just finish the wait.
        co_await timer.async_wait(use_tuple);
        co_return false;
    }
    ++state.hang_ups_seen;
    co_return true;
}

FakeControls read_controls(const Request& request, const ServerOptions& options,
                           unsigned forced_status) {
    FakeControls controls;
    if (forced_status != 0) controls.status = forced_status;
    if (const auto status = header_number(request, "x-fake-status");
        status && *status >= 200 && *status <= 599) {
        controls.status = static_cast<unsigned>(*status);
    }
    controls.delay = milliseconds(header_number(request, "x-fake-delay-ms").value_or(0));
    controls.words =
        std::min(header_number(request, "x-fake-chunks").value_or(options.chunks), max_words);
    controls.chunk_interval = milliseconds(
        header_number(request, "x-fake-chunk-interval-ms").value_or(options.chunk_interval_ms));
    controls.hold = milliseconds(header_number(request, "x-fake-hold-ms").value_or(0));
    controls.drop_after = header_number(request, "x-fake-drop-after");
    controls.reset_after = header_number(request, "x-fake-reset-after");
    controls.echo = header_number(request, "x-fake-echo").value_or(0) == 1;
    return controls;
}

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

EchoSource echo_source_of(const Request& request) {
    EchoSource source{request.method_string(), request.target(), {}, request.body()};
    for (const auto& field : request)
        source.headers.emplace_back(field.name_string(), field.value());
    return source;
}

std::string completion_id(CompletionKind kind) {
    static std::atomic<std::uint64_t> next_id{1};
    return (kind == CompletionKind::chat ? "chatcmpl-fake-" : "cmpl-fake-") +
           std::to_string(next_id.fetch_add(1, std::memory_order_relaxed));
}

FullAnswer full_answer(http::status status, std::string_view content_type = {},
                       std::string body = {}) {
    FullAnswer answer;
    answer.status = status;
    answer.content_type = content_type;
    answer.body = std::move(body);
    return answer;
}

FullAnswer json_answer(http::status status, std::string body) {
    return full_answer(status, json_type, std::move(body));
}

FullAnswer error_answer(http::status status, std::string_view message, std::string_view type) {
    return json_answer(status, error_body(message, type));
}

FullAnswer method_not_allowed(std::string_view allow) {
    FullAnswer answer = error_answer(http::status::method_not_allowed, "method not allowed",
                                     "invalid_request_error");
    answer.allow = allow;
    return answer;
}

// Increments a gauge for the lifetime of a request.
class GaugeIncrement {
public:
    explicit GaugeIncrement(std::atomic<std::uint64_t>* gauge) : gauge_(gauge) {
        if (gauge_) gauge_->fetch_add(1, std::memory_order_relaxed);
    }
    ~GaugeIncrement() {
        if (gauge_) gauge_->fetch_sub(1, std::memory_order_relaxed);
    }
    GaugeIncrement(const GaugeIncrement&) = delete;
    GaugeIncrement& operator=(const GaugeIncrement&) = delete;

private:
    std::atomic<std::uint64_t>* gauge_;
};

void count_completion(ServerState& state, const CompletionShape& shape) {
    state.prompt_tokens.fetch_add(shape.prompt_tokens, std::memory_order_relaxed);
    state.generation_tokens.fetch_add(static_cast<std::uint64_t>(shape.words),
                                      std::memory_order_relaxed);
    state.completions_succeeded.fetch_add(1, std::memory_order_relaxed);
}

std::string stats_body(ServerState& state) {
    nlohmann::json by_path = nlohmann::json::object();
    std::shared_ptr<const RecordedRequest> last;
    {
        const std::scoped_lock lock(state.mutex);
        for (const auto& [path, count] : state.requests_by_path) by_path[path] = count;
        last = state.last_request;
    }
    nlohmann::json last_request = nullptr;
    if (last) {
        const bool with_body = last->message.body().size() <= echo_body_limit;
        last_request = echo_object(echo_source_of(last->message), with_body);
    }
    return dump_json({{"requests_total", state.requests_total.load()},
                      {"in_flight", state.in_flight.load()},
                      {"healthy", state.healthy.load()},
                      {"forced_status", state.forced_status.load()},
                      {"hang_ups_seen", state.hang_ups_seen.load()},
                      {"connections_open", state.connections_open.load()},
                      {"idle_closes", state.idle_closes.load()},
                      {"tls_handshakes", state.tls_handshakes.load()},
                      {"tls_handshake_failures", state.tls_handshake_failures.load()},
                      {"last_sni", last ? last->sni : std::string()},
                      {"by_path", std::move(by_path)},
                      {"last_request", std::move(last_request)}});
}

void reset_counters(ServerState& state) {
    {
        const std::scoped_lock lock(state.mutex);
        state.requests_by_path.clear();
        state.last_request.reset();
    }
    state.requests_total = 0;
    state.prompt_tokens = 0;
    state.generation_tokens = 0;
    state.completions_succeeded = 0;
}

// /fake/*: test controls, not counted as requests and deaf to the x-fake-* headers.
FullAnswer control_answer(const Request& request, std::string_view path, ServerState& state) {
    const bool post = request.method() == http::verb::post;
    if (path == "/fake/health/ok" || path == "/fake/health/fail") {
        if (!post) return method_not_allowed("POST");
        state.healthy = path == "/fake/health/ok";
        return json_answer(http::status::ok,
                           state.healthy ? R"({"healthy":true})" : R"({"healthy":false})");
    }
    if (path.starts_with("/fake/status/")) {
        // Makes this server fail every model request (0 turns it off): one bad endpoint in a pool.
        if (!post) return method_not_allowed("POST");
        const auto code = path.substr(std::string_view("/fake/status/").size());
        unsigned value = 0;
        const auto [end, error] = std::from_chars(code.data(), code.data() + code.size(), value);
        if (error != std::errc{} || end != code.data() + code.size() ||
            (value != 0 && (value < 200 || value > 599)))
            return error_answer(http::status::bad_request,
                                "expected /fake/status/NNN (200-599, or 0 for off)",
                                "invalid_request_error");
        state.forced_status = value;
        return json_answer(http::status::ok, "{\"forced_status\":" + std::to_string(value) + "}");
    }
    if (path.starts_with("/fake/engine/")) {  // the simulated engine's test overrides
        if (!post) return method_not_allowed("POST");
        if (auto body = state.gpu.control(path.substr(std::string_view("/fake/engine/").size())))
            return json_answer(http::status::ok, std::move(*body));
        return error_answer(
            http::status::bad_request,
            "expected /fake/engine/waiting/N|off, /fake/engine/metrics/ok|fail|garbage, "
            "/fake/engine/format/vllm|triton or /fake/engine/lora/NAME[,NAME]|off",
            "invalid_request_error");
    }
    if (path == "/fake/reset") {
        if (!post) return method_not_allowed("POST");
        reset_counters(state);
        return json_answer(http::status::ok, R"({"reset":true})");
    }
    if (path == "/fake/stats") {
        if (request.method() != http::verb::get) return method_not_allowed("GET");
        return json_answer(http::status::ok, stats_body(state));
    }
    return error_answer(http::status::not_found, "no such control endpoint: " + std::string(path),
                        "not_found_error");
}

// What a model endpoint answers, before any delay. `shape` is filled for completions.
Answer model_answer(const Request& request, std::string_view path, const FakeControls& controls,
                    ServerState& state, CompletionShape& shape) {
    if (controls.status) {
        const auto status = static_cast<http::status>(*controls.status);
        return error_answer(status, "fake error: status " + std::to_string(*controls.status),
                            "fake_error");
    }
    if (controls.echo) {
        return json_answer(http::status::ok,
                           dump_json(echo_object(echo_source_of(request), /*with_body=*/true)));
    }
    const bool get = request.method() == http::verb::get;
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
        if (request.method() != http::verb::post) return method_not_allowed("POST");
        const auto parsed = parse_completion_request(request.body());
        if (!parsed) {
            return error_answer(http::status::bad_request,
                                "request body is not a valid JSON object", "invalid_request_error");
        }
        shape.kind = path == "/v1/completions" ? CompletionKind::text : CompletionKind::chat;
        shape.id = completion_id(shape.kind);
        shape.created = static_cast<std::int64_t>(std::time(nullptr));
        shape.model_json = parsed->model_json.empty() ? state.model_json : parsed->model_json;
        shape.words = controls.words;
        shape.prompt_tokens = std::max<std::uint64_t>(1, request.body().size() / 4);
        if (parsed->stream) return StreamAnswer{parsed->include_usage, std::nullopt};
        FullAnswer answer = json_answer(http::status::ok, completion_body(shape));
        answer.completion = &shape;
        return answer;
    }
    if (path == "/.well-known/jwks.json" && !state.options.jwks_file.empty()) {
        // A stand-in identity provider: tests rewrite the file to rotate keys.
        if (!get) return method_not_allowed("GET");
        std::ifstream file(state.options.jwks_file);
        if (!file) return full_answer(http::status::service_unavailable);
        std::ostringstream text;
        text << file.rdbuf();
        return json_answer(http::status::ok, text.str());
    }
    if (path == "/v1/models") {
        if (!get) return method_not_allowed("GET");
        return json_answer(http::status::ok, models_body(state.options.model, std::time(nullptr)));
    }
    if (path == "/health" || path == "/v2/health/ready") {
        if (!get) return method_not_allowed("GET");
        return full_answer(state.healthy ? http::status::ok : http::status::service_unavailable);
    }
    if (path == "/metrics") {
        if (!get) return method_not_allowed("GET");
        if (state.gpu.serves_metrics()) {
            using Mode = GpuEngine::MetricsMode;
            const auto mode = state.gpu.metrics_mode();
            if (mode == Mode::fail) return full_answer(http::status::internal_server_error);
            if (mode == Mode::garbage)
                return full_answer(http::status::ok, "text/html", "<html></html>");
            return full_answer(
                http::status::ok, metrics_content_type,
                state.gpu.metrics_text(std::chrono::steady_clock::now(), state.options.model,
                                       state.completions_running.load()));
        }
        const MetricsSnapshot metrics{state.completions_running.load(), state.prompt_tokens.load(),
                                      state.generation_tokens.load(),
                                      state.completions_succeeded.load()};
        return full_answer(http::status::ok, metrics_content_type,
                           metrics_text(metrics, state.options.model));
    }
    if (auto other = endpoint_answer({request.method_string(), path,
                                      request[http::field::content_type], request.body(),
                                      controls.words, state.options.model})) {
        if (other->stream) return StreamAnswer{false, std::move(other->events)};
        return json_answer(static_cast<http::status>(other->status), std::move(other->body));
    }
    return error_answer(
        http::status::not_found,
        "no such endpoint: " + std::string(request.method_string()) + " " + std::string(path),
        "not_found_error");
}

// Writes a whole answer; returns whether the connection stays open.
template <typename Stream>  // WorkerSocket or TlsStream
asio::awaitable<bool> write_full(Stream& socket, bool keep_alive, bool head_only,
                                 FullAnswer& answer, const ServerState& state) {
    http::response<http::string_body> response{answer.status, 11};
    if (!answer.content_type.empty()) response.set(http::field::content_type, answer.content_type);
    if (!answer.allow.empty()) response.set(http::field::allow, answer.allow);
    response.set("x-fake-server", state.options.id);
    response.keep_alive(keep_alive);
    response.body() = std::move(answer.body);
    response.prepare_payload();
    if (head_only) {  // HEAD: the same head, no body
        http::response_serializer<http::string_body> serializer{response};
        const auto [error, written] =
            co_await http::async_write_header(socket, serializer, use_tuple);
        co_return !error && keep_alive;
    }
    const auto [error, written] = co_await http::async_write(socket, response, use_tuple);
    co_return !error && keep_alive;
}

// Streams a completion: one SSE event per HTTP chunk, word events paced by the chunk interval,
// then the stop event, the usage event if asked for, [DONE] and the last chunk.
// x-fake-drop-after: N closes the connection after N events, without the last chunk.
// x-fake-reset-after: N resets it instead (RST, at once after the Nth event's bytes: a server
// killed mid-stream with unread input, or an abortive close).
// x-fake-hold-ms: N delays every word event after the first by N ms (a benchmark's streams are
// then all open, each with its first event, before the others flow).
template <typename Stream>  // WorkerSocket or TlsStream
asio::awaitable<bool> write_stream(Stream& socket, bool keep_alive, const StreamAnswer& stream,
                                   const CompletionShape& shape, const FakeControls& controls,
                                   ServerState& state) {
    http::response<http::empty_body> head{http::status::ok, 11};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set("x-fake-server", state.options.id);
    head.keep_alive(keep_alive);
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer{head};
    if (const auto [error, written] =
            co_await http::async_write_header(socket, serializer, use_tuple);
        error) {
        co_return false;
    }

    const int words = stream.events ? static_cast<int>(stream.events->size()) : shape.words;
    const int events =
        stream.events ? words : words + 1 + (stream.include_usage ? 1 : 0) + 1;
    const auto start = std::chrono::steady_clock::now();
    asio::steady_timer pace{socket.get_executor()};
    for (int index = 0; index < events; ++index) {
        if (controls.drop_after && index == *controls.drop_after) co_return false;
        if (controls.reset_after && index == *controls.reset_after) {
            auto& raw = beast::get_lowest_layer(socket);
            beast::error_code ignored;
            raw.set_option(asio::socket_base::linger(true, 0), ignored);
            raw.close(ignored);
            co_return false;
        }
        if (index > 0 && index < words) {
            pace.expires_at(start + controls.hold + index * controls.chunk_interval);
            const bool hung_up = co_await wait_unless_hung_up(socket, pace, state);
            if (hung_up) co_return false;
        }
        std::string data;
        if (stream.events) {
            data = (*stream.events)[static_cast<std::size_t>(index)];
        } else if (index < words) {
            data = stream_word_event(shape, index);
        } else if (index == words) {
            data = stream_stop_event(shape);
        } else if (index == events - 1) {
            data = std::string(stream_done_event);
        } else {
            data = stream_usage_event(shape);
        }
        if (const auto [error, written] =
                co_await asio::async_write(socket, http::make_chunk(asio::buffer(data)), use_tuple);
            error) {
            co_return false;
        }
    }
    if (!stream.events) count_completion(state, shape);
    const auto [error, written] =
        co_await asio::async_write(socket, http::make_chunk_last(), use_tuple);
    co_return !error && keep_alive;
}

// With --gpu-*: the simulated engine decides when the tokens come (queue wait + prefill of
// the uncached prompt, then decode); an answer, streamed or not, gets as many tokens as its
// slot was planned for, and never ends before the engine frees that slot (rounded up), as a
// real engine frees a slot before the last bytes of its answer reach anyone.
void follow_engine(ServerState& state, const Request& request, Answer& answer,
                   CompletionShape& shape, FakeControls& controls) {
    const auto now = std::chrono::steady_clock::now();
    const auto plan = state.gpu.admit(request.body(), shape.words, now);
    const auto ms = [](auto d) { return std::chrono::ceil<milliseconds>(d); };
    const bool stream = std::holds_alternative<StreamAnswer>(answer);
    shape.words = plan.output_tokens;
    if (!stream && !controls.echo)
        answer = json_answer(http::status::ok, completion_body(shape));  // with those tokens
    controls.delay = ms(plan.first_token - now);
    if (!stream) controls.delay = ms(plan.first_token - now + plan.per_token * shape.words);
    controls.chunk_interval = ms(plan.per_token);
}

// Answers one request; returns whether the connection stays open.
template <typename Stream>  // WorkerSocket or TlsStream
asio::awaitable<bool> answer_request(Stream& socket,
                                     std::shared_ptr<const RecordedRequest> recorded,
                                     ServerState& state) {
    const Request& request = recorded->message;
    const std::string_view path = path_of(request.target());
    if (path.starts_with("/fake/")) {
        FullAnswer answer = control_answer(request, path, state);
        const bool keep_open = co_await write_full(
            socket, request.keep_alive(), request.method() == http::verb::head, answer, state);
        co_return keep_open;
    }

    state.requests_total.fetch_add(1, std::memory_order_relaxed);
    {
        const std::scoped_lock lock(state.mutex);
        if (const auto found = state.requests_by_path.find(path);
            found != state.requests_by_path.end()) {
            ++found->second;
        } else {
            state.requests_by_path.emplace(path, 1);
        }
        state.last_request = recorded;
    }
    const GaugeIncrement in_flight{&state.in_flight};
    const bool completion = path == "/v1/chat/completions" || path == "/v1/completions";
    const GaugeIncrement running{completion ? &state.completions_running : nullptr};

    FakeControls controls = read_controls(request, state.options, state.forced_status.load());
    CompletionShape shape;
    Answer answer = model_answer(request, path, controls, state, shape);
    if (completion && state.gpu.enabled() && !controls.status)
        follow_engine(state, request, answer, shape, controls);
    if (controls.delay.count() > 0) {
        asio::steady_timer delay{socket.get_executor(), controls.delay};
        const bool hung_up = co_await wait_unless_hung_up(socket, delay, state);
        if (hung_up) co_return false;
    }
    if (const auto bad = request.find("x-fake-bad-framing");
        bad != request.end() && bad->value() == "endless-chunk-line") {
        // A chunk-size line that never ends (an extension of up to 64 MiB): a proxy that
        // buffers lines without a bound grows by as much.
        static constexpr std::string_view head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n1;x=";
        auto [failed, written] = co_await asio::async_write(socket, asio::buffer(head), use_tuple);
        const std::string filler(64 * 1024, 'a');
        for (int i = 0; !failed && i < 1024; ++i) {
            auto [ec, n] = co_await asio::async_write(socket, asio::buffer(filler), use_tuple);
            failed = ec;
        }
        co_return false;
    }
    if (const auto bad = request.find("x-fake-bad-framing"); bad != request.end()) {
        // An answer a proxy must not pass on: both Content-Length and Transfer-Encoding.
        static constexpr std::string_view ambiguous =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(ambiguous), use_tuple);
        co_return false;
    }
    if (auto* full = std::get_if<FullAnswer>(&answer)) {
        if (controls.drop_after == 0) co_return false;  // close without any response
        const bool count = full->completion != nullptr;
        const bool keep_open = co_await write_full(
            socket, request.keep_alive(), request.method() == http::verb::head, *full, state);
        if (count) count_completion(state, shape);
        co_return keep_open;
    }
    const bool keep_open = co_await write_stream(
        socket, request.keep_alive(), std::get<StreamAnswer>(answer), shape, controls, state);
    co_return keep_open;
}

// A request that could not be read: answers what deserves an answer, then the connection closes.
template <typename Stream>  // WorkerSocket or TlsStream
asio::awaitable<void> refuse_unreadable(Stream& socket, beast::error_code error,
                                        const ServerState& state) {
    FullAnswer answer;
    if (error == http::error::body_limit) {
        answer = error_answer(http::status::payload_too_large, "request body too large",
                              "invalid_request_error");
    } else if (error == http::error::header_limit) {
        answer = error_answer(http::status::request_header_fields_too_large,
                              "request header too large", "invalid_request_error");
    } else if (error.category() == http::make_error_code(http::error::bad_target).category() &&
               error != http::error::end_of_stream && error != http::error::partial_message) {
        answer = error_answer(http::status::bad_request, "malformed HTTP request",
                              "invalid_request_error");
    } else {
        co_return;  // the client went away
    }
    co_await write_full(socket, /*keep_alive=*/false, /*head_only=*/false, answer, state);
}

bool expects_100_continue(const Request& request) {
    return request.version() >= 11 && beast::iequals(request[http::field::expect], "100-continue");
}

// --close-idle-after-ms: false when the client sent nothing for that long after an answer.
template <typename Stream>
asio::awaitable<bool> next_request_in_time(Stream& socket, ServerState& state) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer limit(socket.get_executor(),
                             milliseconds(state.options.close_idle_after_ms));
    auto& raw = beast::get_lowest_layer(socket);
    auto result = co_await (raw.async_wait(WorkerSocket::wait_read, use_tuple) ||
                            limit.async_wait(use_tuple));
    if (result.index() == 0) co_return true;
    state.idle_closes.fetch_add(1, std::memory_order_relaxed);
    co_return false;
}

template <typename Stream>
asio::awaitable<void> serve_requests(Stream& socket, ServerState& state, const std::string& sni) {
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        if (!first && buffer.size() == 0 && state.options.close_idle_after_ms > 0 &&
            !co_await next_request_in_time(socket, state))
            break;
        http::request_parser<http::string_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(max_body_bytes);
        auto [error, read] = co_await http::async_read_header(socket, buffer, parser, use_tuple);
        if (!error && expects_100_continue(parser.get())) {
            http::response<http::empty_body> go_on{http::status::continue_, 11};
            std::tie(error, read) = co_await http::async_write(socket, go_on, use_tuple);
        }
        if (!error) {
            std::tie(error, read) = co_await http::async_read(socket, buffer, parser, use_tuple);
        }
        if (error) {
            co_await refuse_unreadable(socket, error, state);
            break;
        }
        auto recorded =
            std::make_shared<const RecordedRequest>(RecordedRequest{parser.release(), sni});
        if (!co_await answer_request(socket, std::move(recorded), state)) break;
    }
}

}  // namespace

// Counts the connection in connections_open while it is served.
struct OpenConnection {
    explicit OpenConnection(ServerState& state) : state(state) { ++state.connections_open; }
    ~OpenConnection() { --state.connections_open; }
    OpenConnection(const OpenConnection&) = delete;
    OpenConnection& operator=(const OpenConnection&) = delete;
    ServerState& state;
};

asio::awaitable<void> serve_connection(WorkerSocket socket, ServerState& state) {
    const OpenConnection open(state);
    beast::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    co_await serve_requests(socket, state, std::string());
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

asio::awaitable<void> serve_tls_connection(WorkerSocket socket, asio::ssl::context& context,
                                           ServerState& state) {
    const OpenConnection open(state);
    beast::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    TlsStream stream(std::move(socket), context);
    asio::steady_timer limit(stream.get_executor(), std::chrono::seconds(10));
    using namespace asio::experimental::awaitable_operators;
    auto handshake = co_await (stream.async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                               limit.async_wait(use_tuple));
    if (handshake.index() == 0 && !std::get<0>(std::get<0>(handshake))) {
        // The name the client asked for (SNI), recorded with its requests for /fake/stats.
        const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        state.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
        co_await serve_requests(stream, state, std::string(name != nullptr ? name : ""));
    } else {
        state.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    }
    auto& raw = stream.next_layer();
    raw.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    raw.close(ignored);
}

}  // namespace fake_model
