// The response steps of one request, in the order they see the answer: the request side sets
// them up (admit, cache lookup, transform), the relay runs them, settle and the cache store
// read what they saw.
#pragma once

#include <optional>

#include "llmgw/cache/cache_steps.hpp"
#include "llmgw/http/response_phases.hpp"
#include "llmgw/limits/rate_limit_step.hpp"
#include "llmgw/tracing/trace_step.hpp"
#include "llmgw/usage/usage_step.hpp"

namespace llmgw::gateway {

struct ResponseSteps {
    limits::RateLimitHeadersStep rate_limit_headers;
    cache::CacheStatusStep cache_status;
    usage::UsageStep usage;                   // before the copy: it may hide an event
    std::optional<cache::AnswerCopyStep> copy;  // when the answer may be stored
    std::optional<tracing::TraceStep> trace;     // when the request is traced

    http::ResponsePhases phases() {
        http::ResponsePhases phases;
        phases.add(rate_limit_headers);
        phases.add(cache_status);
        phases.add(usage);
        if (copy) phases.add(*copy);
        if (trace) phases.add(*trace);
        return phases;
    }
};

}  // namespace llmgw::gateway
