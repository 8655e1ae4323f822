// The response step that tells the client where it stands against its tier's limits.
#pragma once

#include "llmgw/http/response_phases.hpp"
#include "llmgw/limits/rate_limit_headers.hpp"

namespace llmgw::limits {

class RateLimitHeadersStep final : public http::ResponseStep {
public:
    void set(const HeaderFigures& figures) { figures_ = figures; }
    void on_head(http::AnswerHead& head) override {
        write_headers(figures_, [&](std::string_view name, std::string_view value) {
            head.fields.set(name, value);
        });
    }

private:
    HeaderFigures figures_;  // none present until set: no header
};

}  // namespace llmgw::limits
