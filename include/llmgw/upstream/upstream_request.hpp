// Turns the client's request into the one sent upstream: proxy header hygiene.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::upstream {

// Removes hop-by-hop headers, every header the Connection header names (except
// those the gateway sets itself), and Expect (the gateway already answered it).
void strip_hop_by_hop(http::Request& request);

// Applies a route's headers.remove and headers.set.
void apply_header_edits(http::Request& request, const config::HeaderEdits& edits);

// x-forwarded-host (the client's Host), x-forwarded-for (as the pipeline decided from the peer
// and trusted proxies), x-forwarded-proto and x-request-id, as the head's text ("name:
// value\r\n" each, for write_head) after dropping the client's own of these names: inserting
// them into the fields cost a name lookup, an erase, an allocation and an insertion each.
std::string forwarding_lines(http::Request& request, std::string_view client_ip,
                             std::string_view request_id);

// Sets the body's Content-Length unless the client's already says it (an allocation less).
void prepare_length(http::Request& request);

// The request's head as HTTP/1.1 puts it on the wire, the bytes Beast's serializer writes:
// the request line, each field as "name: value" in order, then `lines` (more fields as text),
// the blank line. `out` is replaced (its capacity kept: a connection reuses it request after
// request). Not for a chunked body.
// With `endpoint`, the head goes to that endpoint on a kept-alive connection: its Host line
// comes first and the request's own Host and Connection fields stay out (setting them in the
// fields cost an erase, an allocation and a tree insertion per attempt). HTTP/1.1 without
// Connection is keep-alive.
void write_head(const http::Request& request, std::string_view lines, std::string& out,
                const config::Endpoint* endpoint = nullptr);

// The Host value for an endpoint, appended to `out`: host[:port], IPv6 addresses in
// brackets, the port left out when it is the scheme's.
void append_host(const config::Endpoint& endpoint, std::string& out);

// `lines` inserted into the request's fields (for Beast's serializer: a chunked body).
void insert_lines(http::Request& request, std::string_view lines);

}  // namespace llmgw::upstream
