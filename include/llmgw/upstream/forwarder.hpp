// Step 6 of the pipeline: sends the request to one of the backend's endpoints and relays
// the answer to the client as it arrives, without buffering it. Unhealthy and open
// endpoints are skipped, failures before the answer starts are retried elsewhere, and a
// client that leaves cancels the upstream request.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/gateway_error.hpp"
#include "llmgw/http/response_writer.hpp"
#include "llmgw/limits/usage_scanner.hpp"
#include "llmgw/observability/access_record.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/upstream/backend_state.hpp"
#include "llmgw/upstream/connection_pool.hpp"

namespace llmgw::upstream {

// A bounded copy of an answer as the client got it (for the response cache).
struct AnswerCopy {
    std::size_t limit = 0;  // body bytes kept at most; a larger answer is not copied
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers{};  // upstream end-to-end, lower-case
    std::string body{};
    bool event_stream = false;  // relayed as server-sent events, chunked
    bool complete = false;      // the whole answer reached the client
    bool too_large = false;

    void keep(std::string_view piece);
};

// What watches an answer while it is relayed: its LLM token usage, and maybe a copy.
struct AnswerWatch {
    bool drop_usage_only_event = false;  // the gateway asked for usage the client did not
    std::optional<limits::UsageScanner> scanner{};  // set once the answer's head is known
    std::optional<AnswerCopy> copy{};  // set by the pipeline when the answer may be cached
};

struct ForwardOutcome {
    // Set when the upstream failed before anything was sent to the client:
    // the caller answers with this error.
    std::optional<http::GatewayError> error;
};

class Forwarder {
public:
    // How long a forward runs before the client's connection is watched for a hang-up, and
    // how often the worker looks: quick answers never pay for the watch.
    static constexpr auto client_watch_delay = std::chrono::milliseconds(200);
    static constexpr auto client_watch_sweep = std::chrono::milliseconds(100);

    Forwarder(ConnectionPool& pool, observability::Metrics& metrics);
    ~Forwarder();

    // `request` is the upstream request, already rewritten; it is sent as it is.
    // Fills record.endpoint, upstream_first_byte, stream and error.
    // `extra_headers` are added to a relayed answer (rate-limit headers); `watch`, when
    // given, sees the answer as it goes.
    http::Task<ForwardOutcome> forward(
        http::Request& request, BackendState& backend, http::ResponseWriter& client,
        observability::AccessRecord& record,
        const std::vector<std::pair<std::string, std::string>>& extra_headers, AnswerWatch* watch);

private:
    struct Exchange;
    struct AttemptResult;
    http::Task<ForwardOutcome> try_endpoints(Exchange& exchange);
    http::Task<AttemptResult> attempt(Exchange& exchange, EndpointState& endpoint,
                                      const CircuitBreaker::Ticket& ticket, bool may_retry_answer);
    struct HangUpWatch;
    // Forwards in progress on this worker, in an intrusive list the sweep walks.
    void enlist(Exchange& exchange);
    void delist(Exchange& exchange);
    void sweep();
    static void client_hung_up(Exchange& exchange);

    ConnectionPool& pool_;
    observability::Metrics& metrics_;
    Exchange* in_progress_ = nullptr;
    std::unique_ptr<http::net::steady_timer> sweep_timer_;
    bool sweeping_ = false;
};

}  // namespace llmgw::upstream
