// The life of one client connection: read a request within the limits, hand it to the
// handler, loop while keep-alive holds. Limits are enforced here, before any step runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"
#include "llmgw/http/body_budget.hpp"
#include "llmgw/http/response_writer.hpp"

namespace llmgw::http {

struct SessionLimits {
    std::size_t max_header_bytes;
    std::size_t max_body_bytes;
    std::chrono::milliseconds header_timeout;
    std::chrono::milliseconds body_timeout;
    std::chrono::milliseconds idle_timeout;  // also bounds each write to a slow reader
    // Shared by every connection of the listeners that use these limits.
    std::shared_ptr<BodyBudget> body_budget;

    static SessionLimits from(const config::ServerConfig& server);
};

// What reading a request's body came to: complete, refused (send the error, then the
// connection closes), or neither when the client went away.
struct BodyRead {
    bool complete = false;
    std::optional<GatewayError> refusal;
};

// The body of a request whose head has been read, read when the handler asks for it: a
// request refused on its head (401, say) never costs the memory of its body. The read is
// bounded by max_body_bytes, body_timeout and the listeners' shared BodyBudget.
class RequestBody {
public:
    // `present`: the request has a body (a length or chunked framing). `read_now` (a callable
    // returning std::optional<BodyRead>) reads it when that needs no waiting, `read` (a
    // callable returning Task<BodyRead>) in any case; both are referred to, not copied: they
    // must outlive the RequestBody, so no request pays for a heap-held function object.
    template <typename ReadNow, typename Read>
    RequestBody(bool present, ReadNow& read_now, Read& read)
        : present_(present),
          now_reader_(&read_now),
          read_now_([](void* reader) { return (*static_cast<ReadNow*>(reader))(); }),
          reader_(&read),
          read_([](void* reader) { return (*static_cast<Read*>(reader))(); }) {}
    // The body when it can be had without waiting (usually it came with the head), else
    // nullopt: then read() reads it.
    std::optional<BodyRead> read_now();
    // Reads once; a second call answers what the first did.
    Task<BodyRead> read();
    // A body is still on the connection: answering now must close the connection.
    bool unread() const { return present_ && !(result_ && result_->complete); }

private:
    bool present_;
    void* now_reader_;
    std::optional<BodyRead> (*read_now_)(void*);
    void* reader_;
    Task<BodyRead> (*read_)(void*);
    std::optional<BodyRead> result_;
};

// Called once per request, when its head has been read and found valid; reads the body
// through `body` when it needs it, and answers through the writer. A handler that answers
// without reading the body must make the writer close the connection.
using RequestHandler = std::function<Task<void>(Request& request, const std::string& client_ip,
                                                ResponseWriter& writer, RequestBody& body)>;

// A request refused before it could be read whole (408, 413, 431, 400): still one
// access-log line and one count in the metrics.
struct RefusedRequest {
    const GatewayError& error;
    const std::string& request_id;
    const std::string& client_ip;
    std::string_view method;  // empty when the head could not be read
    std::string_view target;
    std::chrono::steady_clock::time_point started;
    std::uint64_t bytes_out = 0;  // the error body sent
};

struct ConnectionHandlers {
    RequestHandler request;
    std::function<void(const RefusedRequest&)> refused;  // may be empty
};

// Owns the socket until the connection ends. `limits` and `handlers` must outlive it.
Task<void> serve_connection(tcp::socket socket, const SessionLimits& limits,
                            const ConnectionHandlers& handlers);
// The same over TLS: the handshake must finish within limits.header_timeout. The connection
// keeps `context` (the one current when it was accepted) until it ends.
Task<void> serve_tls_connection(tcp::socket socket, std::shared_ptr<net::ssl::context> context,
                                const SessionLimits& limits, const ConnectionHandlers& handlers);

}  // namespace llmgw::http
