// Turns the client's request into the one sent upstream: proxy header hygiene.
#pragma once

#include <string>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::upstream {

// Removes hop-by-hop headers, every header the Connection header names (except
// those the gateway sets itself), and Expect (the gateway already answered it).
void strip_hop_by_hop(http::Request& request);

// Applies a route's headers.remove and headers.set.
void apply_header_edits(http::Request& request, const config::HeaderEdits& edits);

// x-forwarded-for (as the pipeline decided from the peer and trusted proxies), x-forwarded-proto,
// x-forwarded-host (the client's Host), x-request-id.
void set_forwarding_headers(http::Request& request, const std::string& client_ip,
                            const std::string& request_id);

// The request's head as HTTP/1.1 puts it on the wire, the bytes Beast's serializer writes:
// the request line, each field as "name: value" in order, the blank line. `out` is replaced
// (its capacity kept: a connection reuses it request after request). Not for a chunked body.
void write_head(const http::Request& request, std::string& out);

}  // namespace llmgw::upstream
