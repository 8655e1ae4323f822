// Everything the pipeline's steps know about one request, passed from step to step.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "llmgw/auth/authenticator.hpp"
#include "llmgw/cache/cached_answer.hpp"
#include "llmgw/cache/coalescer.hpp"
#include "llmgw/config/config.hpp"
#include "llmgw/gateway/snapshot.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/limits/concurrency_slot.hpp"
#include "llmgw/limits/reservation.hpp"
#include "llmgw/observability/access_record.hpp"
#include "llmgw/tracing/request_trace.hpp"
#include "llmgw/usage/request_shape.hpp"

namespace llmgw::gateway {

struct RequestContext {
    RequestContext(http::Request& request, std::string client_ip);

    http::Request& request;
    std::shared_ptr<Snapshot> snapshot;  // taken when the request starts
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::optional<auth::Identity> identity;  // set by the authenticate step
    const config::Route* route = nullptr;
    std::string forwarded_for;  // the x-forwarded-for to send upstream
    std::string upstream_lines;  // the forwarding headers, as text after the request's fields
    const config::Tier* tier = nullptr;  // set by the admit step when the tier has limits
    // Set by the admit step when the tier has token or cost limits: what was reserved, settled
    // when the request ends; and the prompt estimate it was based on.
    std::optional<limits::Reservation> reservation;
    std::uint64_t prompt_estimate = 0;
    // Set by the admit step when the tier has max_concurrent: this request's place among its
    // consumer's requests in flight, given back when the request ends (or the context goes).
    limits::ConcurrencySlot concurrency;
    struct Cache {
        std::string key;  // set when the answer may be stored under it (a miss or no-cache)
        std::shared_ptr<const cache::CachedAnswer> hit;  // set when the cache answers
        cache::Coalescer::Lead lead;  // held while identical requests wait for this one
    } cache;
    // The upstream endpoint's shape (chat, embeddings, ...), known once the route is taken.
    usage::EndpointShape shape = usage::EndpointShape::other;
    // Filled in as the steps go; the record step writes it out.
    observability::AccessRecord record;
    // The gateway's own time (record.overhead): from the body read to the first upstream
    // attempt, less the waits on Redis and the queue, plus the relay's time, less the writes'
    // waits for a client that did not take bytes (ClientWriter::client_waits).
    struct OwnTime {
        std::optional<std::chrono::steady_clock::time_point> body_read, upstream_sent;
        std::chrono::steady_clock::duration waits{}, relay{};
    } own_time;
    // The request's spans when tracing is configured and the request is sampled; else null
    // (no allocation for a request that is not traced; a traced one's comes back to the
    // worker's pool).
    tracing::TracePtr trace;

    // The body parsed as JSON, at most once and only when a step asks; null when not JSON.
    const nlohmann::json* body_json();
    nlohmann::json* mutable_body_json();
    // Whether body_json has been asked for (a step reading the body's text itself can then
    // use the tree instead).
    bool body_parsed() const { return body_parsed_; }
    // Lets the tree go (a streamed answer would keep it to its end); a later body_json() parses
    // the text again, which every change made to the tree was written back to.
    void forget_body_json() {
        body_json_.reset();
        body_parsed_ = false;
    }
    // Whether the request carries a body meant as JSON: a non-empty body whose content type,
    // if any, is a JSON one (a multipart upload or a GET has none).
    bool has_json_body() const;
    // Whether an SSE answer is wanted: the JSON body says "stream": true, or the path is
    // Triton's generate_stream (the shape is set by transform). Worked out once: transform and
    // forward both ask, and no step changes what decides it.
    bool asks_for_stream();

private:
    bool read_asks_for_stream();

    bool body_parsed_ = false;
    std::optional<bool> asks_for_stream_;
    std::optional<nlohmann::json> body_json_;
};

}  // namespace llmgw::gateway
