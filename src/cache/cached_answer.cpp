// A cached answer's size, its Redis form, and which headers travel with it.
#include "llmgw/cache/cached_answer.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "llmgw/http/beast.hpp"
#include "llmgw/http/hop_by_hop.hpp"

namespace llmgw::cache {

namespace {
std::int64_t to_ms(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(std::int64_t ms) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}
}  // namespace

std::size_t CachedAnswer::size() const {
    // The fixed part stands for the entry's bookkeeping (key, list node, map slot).
    std::size_t bytes = 256 + route.size() + body.size() + (head_lines ? head_lines->size() : 0);
    for (const auto& [name, value] : headers) bytes += name.size() + value.size() + 32;
    return bytes;
}

std::int64_t CachedAnswer::age_seconds(Clock::time_point now) const {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - stored_at).count();
    return age < 0 ? 0 : age;
}

void prepare_replay(CachedAnswer& answer) {
    answer.head_lines.reset();
    // The relay and the response steps drop fields of a few names (x-request-id, x-cache, age,
    // the rate-limit headers) before adding their own: none of those is ever stored, but an
    // entry from Redis could hold anything, and then goes through a field tree on each replay.
    for (const auto& [name, value] : answer.headers)
        if (!is_replayable_header(http::to_lower(name))) return;
    // The tree once, for its form: it trims values and keeps fields of one name together.
    http::ResponseHead fields;
    try {
        for (const auto& [name, value] : answer.headers) fields.insert(name, value);
    } catch (const std::length_error&) {
        return;  // a replay would fail on it as well
    }
    std::string lines;
    for (const auto& field : fields)
        lines.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    answer.head_lines = std::move(lines);
}

std::string serialize(const CachedAnswer& answer) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [name, value] : answer.headers) headers.push_back({name, value});
    const nlohmann::json meta = {{"v", 1},
                                 {"route", answer.route},
                                 {"status", answer.status},
                                 {"headers", std::move(headers)},
                                 {"streamed", answer.streamed},
                                 {"stored_at_ms", to_ms(answer.stored_at)},
                                 {"expires_at_ms", to_ms(answer.expires_at)},
                                 {"prompt_tokens", answer.prompt_tokens},
                                 {"completion_tokens", answer.completion_tokens}};
    auto text = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    text += answer.body;
    return text;
}

std::optional<CachedAnswer> deserialize(std::string_view text) {
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos) return std::nullopt;
    const auto meta = nlohmann::json::parse(text.substr(0, newline), nullptr, false);
    if (meta.is_discarded() || !meta.is_object() || meta.value("v", 0) != 1) return std::nullopt;
    try {
        CachedAnswer answer;
        answer.route = meta.at("route").get<std::string>();
        answer.status = meta.at("status").get<int>();
        for (const auto& header : meta.at("headers"))
            answer.headers.emplace_back(header.at(0).get<std::string>(),
                                        header.at(1).get<std::string>());
        answer.streamed = meta.at("streamed").get<bool>();
        answer.stored_at = from_ms(meta.at("stored_at_ms").get<std::int64_t>());
        answer.expires_at = from_ms(meta.at("expires_at_ms").get<std::int64_t>());
        answer.prompt_tokens = meta.at("prompt_tokens").get<std::uint64_t>();
        answer.completion_tokens = meta.at("completion_tokens").get<std::uint64_t>();
        answer.body = std::string(text.substr(newline + 1));
        prepare_replay(answer);
        return answer;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

bool is_replayable_header(std::string_view name) {
    // Per-answer headers (its id, date, the caller's rate-limit state, cookies) are never
    // handed to another caller; llmgw sets its own on every replay.
    return name != "x-request-id" && name != "date" && name != "age" && name != "set-cookie" &&
           name != "x-cache" && !name.starts_with("ratelimit") &&
           !name.starts_with("x-ratelimit") && name != "retry-after";
}

}  // namespace llmgw::cache
