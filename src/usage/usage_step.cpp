// UsageStep and the stream-usage request edit.
#include "llmgw/usage/usage_step.hpp"

#include <nlohmann/json.hpp>

namespace llmgw::usage {

void UsageStep::on_head(http::AnswerHead& head) {
    if (head.replayed) return;  // a cached answer costs no tokens
    // Only a chunked stream can lose an event: a known length must stay true.
    scanner_.emplace(head.event_stream, hide_usage_only_event_ && head.chunked);
}

std::string_view UsageStep::on_body(std::string_view piece, bool last) {
    if (!scanner_) return piece;
    if (!last) return scanner_->feed(piece);
    // What an earlier step let go at the end would come first; no step precedes this one.
    return scanner_->finish();
}

bool ask_for_stream_usage(nlohmann::json& body) {
    if (!body.is_object()) return false;
    auto& options = body["stream_options"];
    if (options.is_object() && options.value("include_usage", false)) return false;
    if (!options.is_object()) options = nlohmann::json::object();
    options["include_usage"] = true;
    return true;
}

}  // namespace llmgw::usage
