// One OTLP/HTTP export request: POST the encoded spans to the collector (http or https) and
// read its status. A connection per request: exports are batched, so they are few.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/config/config.hpp"
#include "llmgw/http/beast.hpp"

namespace llmgw::tls {
class ClientContext;
}

namespace llmgw::tracing {

struct ExportResult {
    int status = 0;               // the collector's HTTP status; 0 when none came
    std::string failure;          // why no status came (for the log; never a header value)
    int retry_after_seconds = 0;  // the collector's Retry-After, when it sent one
};

// `tls` is used for an https:// collector (null: plain http). `body` must outlive the task.
http::Task<ExportResult> post_spans(const config::TracingConfig& tracing, tls::ClientContext* tls,
                                    std::string_view body);

}  // namespace llmgw::tracing
