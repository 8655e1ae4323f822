// Usage reports from the ledger: what is still in memory is written first, so a report
// always includes it; a database that cannot be read is 503 store_unavailable.
#include "usage_api.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "admin_http.hpp"
#include "llmgw/accounts/key_changes.hpp"
#include "llmgw/limits/usage_ledger.hpp"

namespace llmgw::admin {

namespace bhttp = http::beast::http;
using accounts::create_key;
using accounts::KeyCreated;
using accounts::revoke_key;
using accounts::rotate_key;
using accounts::run_store_job;
using accounts::unix_now;

namespace {

constexpr std::size_t page_rows = 1000;

nlohmann::json totals_json(const store::LedgerRow& row) {
    return {{"requests", row.requests},
            {"prompt_tokens", row.prompt_tokens},
            {"completion_tokens", row.completion_tokens},
            {"cached_tokens", row.cached_tokens},
            {"estimated_requests", row.estimated_requests},
            {"cached", row.cached_requests},
            {"cost", row.cost ? nlohmann::json(*row.cost) : nlohmann::json()}};
}

std::string report_json(const store::LedgerQuery& query, const std::vector<store::LedgerRow>& rows,
                        bool by_model) {
    std::map<std::string, store::LedgerRow> days, models;
    store::LedgerRow total;
    for (const auto& row : rows) {
        days[row.day].add(row);
        models[row.model].add(row);
        total.add(row);
    }
    nlohmann::json day_list = nlohmann::json::array();
    for (const auto& [day, usage] : days) {
        auto entry = totals_json(usage);
        entry["day"] = day;
        day_list.push_back(std::move(entry));
    }
    nlohmann::json body = {{"consumer", query.account},
                           {"from", query.from},
                           {"to", query.to},
                           {"days", std::move(day_list)},
                           {"total", totals_json(total)}};
    if (by_model) {
        nlohmann::json model_list = nlohmann::json::array();
        for (const auto& [model, usage] : models) {
            auto entry = totals_json(usage);
            entry["model"] = model;
            model_list.push_back(std::move(entry));
        }
        body["models"] = std::move(model_list);
    }
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One page of the range after `after`, the ledger written first on the first page.
http::Task<std::optional<http::GatewayError>> read_page(store::Catalog& catalog,
                                                        const store::LedgerQuery& query,
                                                        std::optional<store::LedgerPosition> after,
                                                        std::vector<store::LedgerRow>& page) {
    auto error = co_await run_store_job(catalog, [&](store::Store& store) {
        if (!after) catalog.write_ledger(store);
        page = store.read_usage(query, after, page_rows);
    });
    co_return error;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

void append_row(std::string& out, const store::LedgerRow& row, bool csv) {
    const auto cost = row.cost ? std::to_string(*row.cost) : std::string();
    if (csv) {
        out += row.day + "," + csv_field(row.account) + "," + csv_field(row.model) + "," +
               std::to_string(row.requests) + "," + std::to_string(row.prompt_tokens) + "," +
               std::to_string(row.completion_tokens) + "," + std::to_string(row.cached_tokens) +
               "," + cost + "\n";
        return;
    }
    auto line = totals_json(row);
    line["day"] = row.day;
    line["consumer"] = row.account;
    line["model"] = row.model;
    out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

store::LedgerQuery ledger_query(std::string from, std::string to, std::string account) {
    return {std::move(from), std::move(to), std::move(account)};
}

store::LedgerPosition position_after(const store::LedgerRow& last) {
    return {last.day, last.account, last.model};
}

http::Task<void> serve_ledger_usage(store::Catalog& catalog, const store::LedgerQuery& query,
                                    const std::string& group_by, http::ResponseWriter& writer) {
    if (!group_by.empty() && group_by != "day" && group_by != "model") {
        co_await send_error(writer, http::make_error(http::ErrorCode::invalid_usage_query,
                                                     "group_by is day or model"));
        co_return;
    }
    std::vector<store::LedgerRow> rows, page;
    std::optional<store::LedgerPosition> after;
    do {
        page.clear();
        auto error = co_await read_page(catalog, query, after, page);
        if (error) {
            co_await send_error(writer, *error);
            co_return;
        }
        if (!page.empty()) after = position_after(page.back());
        rows.insert(rows.end(), page.begin(), page.end());
    } while (page.size() == page_rows);
    co_await send_json(writer, report_json(query, rows, group_by == "model"));
}

http::Task<void> serve_usage_export(store::Catalog* catalog, std::string_view target,
                                    http::ResponseWriter& writer) {
    const auto today = limits::UsageLedger::day_of(std::chrono::system_clock::now());
    auto query = ledger_query(query_parameter(target, "from"), query_parameter(target, "to"), "");
    if (query.from.empty()) query.from = today;
    if (query.to.empty()) query.to = today;
    auto format = query_parameter(target, "format");
    if (format.empty()) format = "csv";
    if (catalog == nullptr || !is_date(query.from) || !is_date(query.to) ||
        (format != "csv" && format != "jsonl")) {
        co_await send_error(writer, http::make_error(
            http::ErrorCode::invalid_usage_query,
            catalog == nullptr ? "the usage export needs a store (store.url)"
                               : "use /admin/usage/export?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|jsonl"));
        co_return;
    }
    const bool csv = format == "csv";
    std::vector<store::LedgerRow> page;
    auto error = co_await read_page(*catalog, query, std::nullopt, page);
    if (error) {
        co_await send_error(writer, *error);
        co_return;
    }
    http::ResponseHead head;
    head.result(bhttp::status::ok);
    head.set(bhttp::field::content_type, csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
    if (!co_await writer.send_head(head, {}, http::AnswerSink::Framing::chunked,
                                   http::AnswerSink::HeadTiming::with_first_piece))
        co_return;
    std::string chunk =
        csv ? "day,consumer,model,requests,prompt_tokens,completion_tokens,cached_tokens,cost\n" : "";
    // One page in memory at a time, whatever the range holds.
    for (;;) {
        for (const auto& row : page) append_row(chunk, row, csv);
        if (!chunk.empty() && !co_await writer.send_body(chunk)) co_return;
        chunk.clear();
        if (page.size() < page_rows) break;
        const auto after = position_after(page.back());
        page.clear();
        if (co_await read_page(*catalog, query, after, page)) {
            writer.abort();  // cut: a reader sees the export did not end properly
            co_return;
        }
    }
    co_await writer.finish();
}

}  // namespace llmgw::admin
