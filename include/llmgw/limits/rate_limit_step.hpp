// The response step that tells the client where it stands against its tier's limits.
#pragma once

#include "llmgw/http/response_phases.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"

namespace llmgw::limits {

class RateLimitHeadersStep final : public http::ResponseStep {
public:
    void set(const HeaderFigures& figures) { figures_ = figures; }
    void on_head(http::AnswerHead& head) override {
        if (!figures_.requests.present && !figures_.tokens.present && !figures_.overall.present)
            return;
        // An upstream's own figures of the same names (another gateway, a hosted API) give way.
        head.drop_fields([&](std::string_view name) { return writes_header(figures_, name); });
        append_header_lines(figures_, head.lines);
    }

private:
    HeaderFigures figures_;  // none present until set: no header
};

}  // namespace llmgw::limits
