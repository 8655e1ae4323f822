// What a worker's pipeline uses of the process-wide state, and nothing more: the pipeline
// depends on these, not on the whole Gateway, so its steps are tested without one.
#pragma once

#include "llmgw/cache/response_cache.hpp"
#include "llmgw/gateway/drain.hpp"
#include "llmgw/gateway/snapshot.hpp"
#include "llmgw/observability/access_log.hpp"
#include "llmgw/observability/metrics.hpp"
#include "llmgw/store/catalog.hpp"

namespace llmgw::gateway {

// What the pipeline uses of the process-wide state, and nothing more.
struct PipelineServices {
    const SnapshotSource& snapshots;
    observability::Metrics& metrics;
    observability::AccessLog& access_log;
    Drain& drain;
    cache::SharedCache& cache;
    // The store (its ledger, self-service), when `store` is configured; else null.
    store::Catalog* catalog = nullptr;
};

}  // namespace llmgw::gateway
