// /admin/usage from the store's ledger (by day or by model) and /admin/usage/export, which
// streams every account × day × model row as CSV or JSON lines, a page at a time.
#pragma once

#include <string>
#include <string_view>

#include "llmgw/http/response_writer.hpp"
#include "llmgw/store/catalog.hpp"

namespace llmgw::admin {

// Made outside coroutines: GCC 12 destroys an aggregate's temporaries twice when it is
// initialised in a coroutine's body.
store::LedgerQuery ledger_query(std::string from, std::string to, std::string account);
store::LedgerPosition position_after(const store::LedgerRow& last);

// `query.account` is the consumer asked about; `group_by` is "", "day" or "model".
http::Task<void> serve_ledger_usage(store::Catalog& catalog, const store::LedgerQuery& query,
                                    const std::string& group_by, http::ResponseWriter& writer);

// GET /admin/usage/export?from=&to=&format=csv|jsonl (needs a store: 404 without one).
http::Task<void> serve_usage_export(store::Catalog* catalog, std::string_view target,
                                    http::ResponseWriter& writer);

}  // namespace llmgw::admin
