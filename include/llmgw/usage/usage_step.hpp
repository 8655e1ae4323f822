// The response step that reads an answer's LLM token usage as it is relayed, and hides the
// usage-only event the gateway asked for on a client's behalf; and the request-side half,
// which asks a streamed completion for its usage.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "llmgw/http/response_phases.hpp"
#include "llmgw/usage/usage_scanner.hpp"

namespace llmgw::usage {

class UsageStep final : public http::ResponseStep {
public:
    // The gateway added stream_options.include_usage: the client did not ask for that event.
    void hide_usage_only_event() { hide_usage_only_event_ = true; }

    void on_head(http::AnswerHead& head) override;
    std::string_view on_body(std::string_view piece, bool last) override;

    // Set once an upstream answer's head was relayed (not for cache replays).
    const std::optional<UsageScanner>& scanner() const { return scanner_; }

private:
    bool hide_usage_only_event_ = false;
    std::optional<UsageScanner> scanner_;
};

// Asks a streamed completion's upstream for its usage (stream_options.include_usage) in the
// parsed request `body`; true when the client had not asked, so the step hides that event.
bool ask_for_stream_usage(nlohmann::json& body);

}  // namespace llmgw::usage
