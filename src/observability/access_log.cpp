// Formats access-log lines by hand (no JSON library on the hot path) and queues them to spdlog.
#include "llmgw/observability/access_log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>

#include "json_text.hpp"
#include "reopenable_file_sink.hpp"

namespace llmgw::observability {
namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    append_json_string(out, value);
}

void append_number(std::string& out, std::string_view name, double value, const char* format) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, value);
    out += ",\"";
    out += name;
    out += "\":";
    out += buf;
}

double milliseconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

std::string format_access_line(const AccessRecord& r) {
    std::string out;
    out.reserve(384);
    out += "{\"time\":";
    append_json_string(out, iso8601_utc(r.time));
    append_field(out, "request_id", r.request_id);
    if (r.trace_id[0] != '\0')
        append_field(out, "trace_id", std::string_view(r.trace_id.data(), r.trace_id.size()));
    append_field(out, "client", r.client);
    append_field(out, "method", r.method);
    append_field(out, "path", r.path);
    append_field(out, "consumer", r.consumer);
    if (!r.issuer.empty()) append_field(out, "issuer", r.issuer);
    append_field(out, "tier", r.tier);
    append_field(out, "route", r.route);
    append_field(out, "backend", r.backend);
    if (!r.fallback_from.empty()) append_field(out, "fallback_from", r.fallback_from);
    append_field(out, "endpoint", r.endpoint);
    append_number(out, "status", r.status, "%.0f");
    append_number(out, "bytes_in", static_cast<double>(r.bytes_in), "%.0f");
    append_number(out, "bytes_out", static_cast<double>(r.bytes_out), "%.0f");
    append_number(out, "duration_ms", milliseconds(r.duration), "%.3f");
    if (r.upstream_first_byte)
        append_number(out, "upstream_first_byte_ms", milliseconds(*r.upstream_first_byte), "%.3f");
    else
        out += ",\"upstream_first_byte_ms\":null";
    if (r.queue_wait) append_number(out, "queue_ms", milliseconds(*r.queue_wait), "%.3f");
    if (r.overhead)
        append_number(out, "overhead_us",
                      std::chrono::duration<double, std::micro>(*r.overhead).count(), "%.1f");
    if (r.attempts > 0) append_number(out, "attempts", r.attempts, "%.0f");
    out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
    if (r.prompt_tokens)
        append_number(out, "prompt_tokens", static_cast<double>(*r.prompt_tokens), "%.0f");
    else
        out += ",\"prompt_tokens\":null";
    if (r.completion_tokens)
        append_number(out, "completion_tokens", static_cast<double>(*r.completion_tokens), "%.0f");
    else
        out += ",\"completion_tokens\":null";
    out += r.tokens_estimated ? ",\"tokens_estimated\":true" : ",\"tokens_estimated\":false";
    append_field(out, "cache", r.cache);
    append_field(out, "rate_limit", r.rate_limit);
    append_field(out, "error", r.error);
    out.push_back('}');
    return out;
}

AccessLog::AccessLog(const std::string& destination) {
    if (destination == "off") return;
    static std::atomic<int> instance{0};
    const auto name = "access-" + std::to_string(instance++);
    spdlog::init_thread_pool(8192, 1);
    if (destination == "stdout") {
        logger_ = spdlog::create_async<spdlog::sinks::stdout_sink_mt>(name);
    } else {
        file_sink_ = std::make_shared<ReopenableFileSink>(destination);
        logger_ = std::make_shared<spdlog::async_logger>(name, file_sink_, spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::block);
        spdlog::register_logger(logger_);
    }
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::info);
    logger_->flush_on(spdlog::level::info);
}

AccessLog::~AccessLog() {
    if (!logger_) return;
    logger_->flush();
    spdlog::drop(logger_->name());
}

void AccessLog::write(const AccessRecord& record) {
    if (logger_) logger_->info(format_access_line(record));
}

void AccessLog::flush() {
    if (logger_) logger_->flush();
}

void AccessLog::reopen() {
    if (!file_sink_) return;
    if (const auto ec = file_sink_->reopen())
        spdlog::error("access log {}: cannot reopen ({}); still writing to the old file",
                      file_sink_->path(), ec.message());
    else
        spdlog::info("access log {} reopened", file_sink_->path());
}

}  // namespace llmgw::observability
